"""A request run as a stream: what it yields agrees with the response, and closing it
early stops the run."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from contract_kit import QUESTION, make_runtime, panel_models, plan
from parley import engine as chat
from parley.engine import run as run_chat
from parley.engine.run import TURN_SEPARATOR
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.models.base import Turn
from parley.relay import relay
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.tools.events import TextDelta

USER = [{"role": "user", "content": QUESTION}]


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
