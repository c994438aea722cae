"""An answer cut short is reported as cut short: never as a complete one.

A scripted upstream cuts streams with and without a finish, sends `choices: null` or an
empty answer, or stalls mid-line; each case asserts what the client (or the panel) gets.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import openai
import pytest

from gateway_kit import USER, data_of, fixed, sdk, serving, sse_events
from parley import Parley
from parley.config import load_settings
from parley.fusion import events as ev
from parley.runtime import Setup
from parley.testing import ANALYSIS_JSON
from parley.testing.upstream import FakeUpstream, RawModel, RawReply

DATETIME = [{"type": "openrouter:datetime"}]


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def sse(chunks: Sequence[dict[str, Any]], *, done: bool) -> list[bytes]:
    out = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    return out + ([b"data: [DONE]\n\n"] if done else [])


def streamed(chunks: Sequence[dict[str, Any]], *, done: bool, then: str = "close") -> RawModel:
    """Streams `chunks` to a streaming request; a whole JSON body cut half way otherwise."""

    def reply(req: Any) -> RawReply:
        if req.body.get("stream"):
            return RawReply(sse(chunks, done=done), content_type="text/event-stream", then=then)  # type: ignore[arg-type]
        return RawReply(b'{"id": "gen-1", "choices": [{"index": 0, "message": {"content": "Hel')

    return RawModel(reply)


CUT = streamed([chunk("Hello, "), chunk("the sky")], done=False)
FINISHED_NO_DONE = streamed([chunk("Hello."), chunk(finish="stop")], done=False)
DONE_NO_FINISH = streamed([chunk("Hello.")], done=True)


def whole(body: dict[str, Any]) -> RawModel:
    """Answers every request, streaming or not, with one JSON body."""
    return RawModel(lambda req: RawReply(json.dumps(body).encode()))


def completion(message: dict[str, Any] | None, finish: str = "stop") -> dict[str, Any]:
    choices = (
        None if message is None else [{"index": 0, "message": message, "finish_reason": finish}]
    )
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": choices,
    }


@dataclass
class Up:
    url: str
    upstream: FakeUpstream


@pytest.fixture
async def gateway() -> AsyncIterator[Up]:
    models = {
        "vendor/cut": CUT,
        "vendor/finished-no-done": FINISHED_NO_DONE,
        "vendor/done-no-finish": DONE_NO_FINISH,
        "vendor/null-choices": whole(completion(None)),
        "vendor/empty": whole(completion({"role": "assistant", "content": ""})),
        "vendor/empty-length": whole(completion({"role": "assistant", "content": ""}, "length")),
        "vendor/stall": RawModel(
            lambda req: RawReply(
                [*sse([chunk("Hel")], done=False), b'data: {"id": "gen-1", "cho'],
                content_type="text/event-stream",
                then="hang",
            )
        ),
        "vendor/ok": fixed("OK: Rayleigh scattering."),
        "vendor/judge": fixed(ANALYSIS_JSON),
    }
    async with FakeUpstream(models) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url, "PARLEY_UPSTREAM_TIMEOUT": "1"}
        settings = load_settings(env, overrides={"judge": "vendor/judge"})
        async with serving(Setup(settings=settings)) as url:
            yield Up(url, up)


def body(model: str, **kw: Any) -> dict[str, Any]:
    return {"model": model, "messages": USER, **kw}


def library(gateway: Up) -> Parley:
    """The library, reaching the same fake upstream over HTTP."""
    env = {"OPENROUTER_BASE_URL": gateway.upstream.base_url}
    return Parley(settings=load_settings(env, overrides={"judge": "vendor/judge"}))


# --- a panelist -----------------------------------------------------------------------


@pytest.mark.parametrize("streamed_panel", [True, False])
async def test_a_cut_panelist_is_a_failed_model_with_its_reason(
    gateway: Up, streamed_panel: bool
) -> None:
    async with library(gateway) as p:
        d = p.deliberation("Why is the sky blue?", panel=["vendor/cut", "vendor/ok"])
        if streamed_panel:  # someone listens: the panel's text is reported as it comes
            events = [e async for e in d.events()]
            failed = [e for e in events if isinstance(e, ev.PanelFailed)]
            assert [e.model for e in failed] == ["vendor/cut"]
        else:
            await d.run()
    result = d.result
    assert result is not None and result.status == "ok"
    assert [r.model for r in result.responses] == ["vendor/ok"]
    [cut] = result.failed_models
    assert cut.model == "vendor/cut" and cut.status_code == 502
    # Listened to or not, a panelist's call streams from its upstream.
    assert "before it finished" in cut.error


async def test_a_panelist_whose_stream_finished_without_done_is_an_answer(gateway: Up) -> None:
    async with library(gateway) as p:
        d = p.deliberation("Q?", panel=["vendor/finished-no-done", "vendor/done-no-finish"])
        _ = [e async for e in d.events()]
    assert d.result is not None and not d.result.failed_models
    assert [r.content for r in d.result.responses] == ["Hello.", "Hello."]


# --- the outer model's answer, through the gateway ------------------------------------


async def test_a_cut_answer_stream_ends_in_an_error_not_stop(gateway: Up) -> None:
    events = await sse_events(
        gateway.url + "/v1/chat/completions", body("vendor/cut", tools=DATETIME, stream=True)
    )
    data = data_of(events)
    assert "[DONE]" not in data
    finishes = [
        c["choices"][0].get("finish_reason")
        for c in data
        if isinstance(c, dict) and c.get("choices")
    ]
    assert "stop" not in finishes
    assert "error" in data[-1] and "before it finished" in data[-1]["error"]["message"]
    async with sdk(gateway.url + "/v1") as c:
        stream = await c.chat.completions.create(
            model="vendor/cut", messages=USER, tools=DATETIME, stream=True
        )  # type: ignore[list-item]
        with pytest.raises(openai.APIError, match="before it finished"):
            async for _ in stream:
                pass


@pytest.mark.parametrize(
    ("model", "stream"),
    [
        ("vendor/cut", False),  # a whole body cut half way
        ("vendor/null-choices", False),
        ("vendor/null-choices", True),
        ("vendor/empty", False),
        ("vendor/empty", True),
    ],
)
async def test_a_missing_or_empty_answer_is_an_error(gateway: Up, model: str, stream: bool) -> None:
    url = gateway.url + "/v1/chat/completions"
    if stream:
        data = data_of(await sse_events(url, body(model, tools=DATETIME, stream=True)))
        assert "[DONE]" not in data and "error" in data[-1]
        assert data[-1]["error"]["code"] == 502
        return
    async with sdk(gateway.url + "/v1") as c:
        with pytest.raises(openai.APIStatusError) as err:
            await c.chat.completions.create(model=model, messages=USER, tools=DATETIME)  # type: ignore[list-item]
    assert err.value.status_code == 502 and model in err.value.message


async def test_an_empty_answer_cut_at_the_token_limit_says_length(gateway: Up) -> None:
    async with sdk(gateway.url + "/v1") as c:
        got = await c.chat.completions.create(
            model="vendor/empty-length", messages=USER, tools=DATETIME
        )  # type: ignore[list-item]
    assert got.choices[0].finish_reason == "length"


# --- passthrough ------------------------------------------------------------------------


async def raw_stream(url: str, model: str) -> bytes:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url + "/v1/chat/completions", json=body(model, stream=True)) as r,
    ):
        assert r.status == 200
        return await r.read()


async def test_a_passthrough_stream_cut_without_a_finish_ends_in_an_error(gateway: Up) -> None:
    raw = await raw_stream(gateway.url, "vendor/cut")
    events = [e for e in raw.decode().split("\n\n") if e]
    assert events[-1].startswith("data: ") and "error" in json.loads(events[-1][6:])
    assert b"data: [DONE]" not in raw


async def test_a_passthrough_stream_that_finished_without_done_is_left_as_it_is(
    gateway: Up,
) -> None:
    raw = await raw_stream(gateway.url, "vendor/finished-no-done")
    assert b'"error"' not in raw and b'"finish_reason": "stop"' in raw


async def test_a_stalled_passthrough_stream_errors_on_a_fresh_line(gateway: Up) -> None:
    raw = await raw_stream(gateway.url, "vendor/stall")
    text = raw.decode()
    assert "datadata" not in text.replace(" ", "") and '"cho\n' not in text
    events = [e for e in text.split("\n\n") if e]
    for e in events:  # every event parses: the partial line never reached the client
        assert e.startswith("data: ") and json.loads(e[6:])
    assert "did not answer" in json.loads(events[-1][6:])["error"]["message"]
