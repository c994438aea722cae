"""Contract section 7, streaming: over Chat Completions, heartbeats while server tools run,
the answer as ordinary chunks, one usage chunk, `[DONE]`, errors as data events and never
an `id:` line; in the library, a stream that agrees with the response and stops the run
when closed early."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

from openai import AsyncOpenAI

from contract_kit import (
    QUESTION,
    ask_fusion,
    fleet,
    make_runtime,
    panel_models,
    plan,
    priced,
)
from gateway_kit import data_of, running, sse_events
from parley import engine as chat
from parley.engine import run as run_chat
from parley.engine.run import TURN_SEPARATOR
from parley.errors import UpstreamError
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.models.base import Turn
from parley.relay import relay
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.tools.events import TextDelta

USER = [{"role": "user", "content": QUESTION}]
CHAT = "/chat/completions"


# --- over Chat Completions (the gateway) --------------------------------------------------------


async def test_a_streamed_fusion_answer_through_the_sdk() -> None:
    """Ordinary chunks with one id and the concrete model, then a chunk with no choices
    and the summed usage."""
    async with (
        running(fleet()) as gw,
        AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c,
    ):
        stream = await c.chat.completions.create(
            model="openrouter/fusion",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert json.loads(text)["status"] == "ok"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert {ch.model for ch in chunks} == {"vendor/outer"}
    assert len({ch.id for ch in chunks}) == 1


async def test_the_raw_stream_heartbeats_then_answers_then_usage_then_done() -> None:
    async with running(fleet()) as gw:
        events = await sse_events(gw.v1 + CHAT, {**ask_fusion(forced=False), "stream": True})
    assert events[0].startswith(": OPENROUTER PROCESSING")
    first_data = next(i for i, e in enumerate(events) if e.startswith("data:"))
    assert all(e.startswith(":") for e in events[:first_data])
    assert not any(line.startswith("id:") for e in events for line in e.split("\n"))
    data = data_of(events)
    assert data[-1] == "[DONE]"
    assert data[-2]["choices"] == [] and data[-2]["usage"]["total_tokens"] > 0
    assert "server_tool_use_details" in data[-2]["usage"]


async def test_an_error_after_the_stream_started_is_a_data_event() -> None:
    def outer(req: FakeRequest) -> Turn:
        if not req.tool_results:
            return priced(tool_call("fusion", {"question": "q"}))
        raise UpstreamError("outer went away", 503)

    async with running(fleet(outer=FunctionModel(outer))) as gw:
        events = await sse_events(gw.v1 + CHAT, {**ask_fusion(forced=False), "stream": True})
    errors = [d for d in data_of(events) if isinstance(d, dict) and "error" in d]
    assert len(errors) == 1
    assert "outer went away" in errors[0]["error"]["message"]


# --- in the library ---------------------------------------------------------------------------


def chatty_outer() -> FunctionModel:
    """Says something, calls fusion in the same turn, then answers."""

    def reply(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            t = tool_call("fusion", {"question": QUESTION})
            t.content = "Let me ask a panel."
            return t
        return "The sky is blue because of Rayleigh scattering."

    return FunctionModel(reply)


async def test_the_streamed_text_is_the_answer_in_the_response() -> None:
    body = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}
    runtime = make_runtime(panel_models() | {"vendor/outer": chatty_outer()})
    streamed: list[str] = []
    outcome = None
    async for item in chat.stream(plan(body, runtime), runtime):
        if isinstance(item, TextDelta):
            streamed.append(item.text)
        elif isinstance(item, chat.Completed):
            outcome = item.outcome
    assert outcome is not None
    content = outcome.text
    assert "".join(streamed) == content
    assert content == (
        "Let me ask a panel." + TURN_SEPARATOR + "The sky is blue because of Rayleigh scattering."
    )
    # Not streamed at all, the response holds the same answer.
    runtime = make_runtime(panel_models() | {"vendor/outer": chatty_outer()})
    unstreamed = await run_chat(plan(body, runtime), runtime)
    assert unstreamed.text == content


async def test_a_one_turn_answer_is_unchanged() -> None:
    runtime = make_runtime({"vendor/outer": FunctionModel(lambda req: "Blue.")})
    body = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:datetime"}]}
    items = [x async for x in chat.stream(plan(body, runtime), runtime)]
    assert [i.text for i in items if isinstance(i, TextDelta)] == ["Blue."]
    assert isinstance(items[-1], chat.Completed)
    assert items[-1].outcome.text == "Blue."


async def test_closing_the_relay_early_cancels_the_work() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def work(emit: Callable[[int], None]) -> None:
        emit(1)
        started.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            cancelled.set()
            raise

    items = relay(work)
    assert await anext(items) == 1
    await started.wait()
    await items.aclose()
    assert cancelled.is_set()


async def test_the_relay_re_raises_what_the_work_raised() -> None:
    async def work(emit: Callable[[str], None]) -> None:
        emit("a")
        raise ValueError("broken")

    seen = []
    try:
        async for x in relay(work):
            seen.append(x)
    except ValueError as exc:
        assert str(exc) == "broken"
    else:
        raise AssertionError("the error was lost")
    assert seen == ["a"]


async def test_a_deliberation_reports_to_a_callback_without_an_iterator() -> None:
    runtime = make_runtime(panel_models())
    d = Deliberation(runtime, QUESTION)
    heard: list[ev.Event] = []
    result = await d.run(heard.append)
    assert result.status == "ok"
    assert isinstance(heard[-1], ev.FusionCompleted)
    assert any(isinstance(e, ev.PanelDelta) for e in heard)  # panel text streams too
    # The iterator face yields the same kinds of events.
    again = [e async for e in Deliberation(runtime, QUESTION).events()]
    assert Counter(type(e) for e in again) == Counter(type(e) for e in heard)


async def test_the_relay_yields_an_idle_item_while_the_work_is_quiet() -> None:
    release = asyncio.Event()

    async def work(emit: Callable[[str], None]) -> None:
        emit("start")
        await release.wait()
        emit("end")

    seen = []
    async for x in relay(work, idle_s=0.001, idle_item="idle"):
        seen.append(x)
        if x == "idle":
            release.set()  # no more quiet once it was noticed
    assert seen[0] == "start"
    assert seen.index("idle") < seen.index("end")
