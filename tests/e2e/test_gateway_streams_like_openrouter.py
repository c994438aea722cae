"""Streaming as contract section 7 says: heartbeats while server tools run, the answer as
ordinary chunks, one usage chunk with empty choices, `[DONE]`; an error after the start is
a data event; never `id:` lines; a client that leaves stops the upstream work."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from openai import APIError, AsyncOpenAI

from gateway_kit import USAGE, USER, Gate, data_of, default_models, running, sse_events
from parley.errors import UpstreamError
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call

CHAT = "/chat/completions"
FUSION = [{"type": "openrouter:fusion"}]


def text_of(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c.get("choices")
    )


async def test_stream_shape_with_server_tools() -> None:
    async with running() as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        events = await sse_events(gw.v1 + CHAT, body)
    assert events[0] == ": OPENROUTER PROCESSING"  # a heartbeat before any upstream answer
    heartbeats = [i for i, e in enumerate(events) if e.startswith(":")]
    first_data = next(i for i, e in enumerate(events) if e.startswith("data:"))
    assert heartbeats and max(heartbeats) < first_data
    chunks = data_of(events)
    assert chunks[-1] == "[DONE]"
    usage_chunk = chunks[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == 5 * USAGE["total_tokens"]
    assert usage_chunk["usage"]["server_tool_use_details"]["tool_calls_executed"] == 1
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert text_of(chunks[:-2]) == "Final answer from 2 panel responses."
    assert {c["model"] for c in chunks[:-1]} == {"vendor/outer"}
    assert len({c["id"] for c in chunks[:-1]}) == 1
    for e in events:
        assert not any(line.startswith(("id:", "event:")) for line in e.splitlines())


async def test_openai_sdk_streams_a_fusion_answer_with_usage_last() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        stream = await c.chat.completions.create(
            model="openrouter/fusion",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
        )
        chunks = [ch async for ch in stream]
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == (
        "Final answer from 2 panel responses."
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 5 * USAGE["total_tokens"]
    assert {ch.model for ch in chunks} == {"vendor/outer"}


async def test_openai_sdk_streams_client_tool_calls() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            return tool_call("datetime", {})
        return tool_call("get_weather", {"city": "Oslo"}, "call_w")

    models = {**default_models(), "vendor/mixed": FunctionModel(reply)}
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    async with running(models) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        stream = await c.chat.completions.create(
            model="vendor/mixed",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:datetime"}, weather],  # type: ignore[list-item]
            stream=True,
        )
        chunks = [ch async for ch in stream]
    calls = [tc for ch in chunks if ch.choices for tc in ch.choices[0].delta.tool_calls or []]
    assert [(tc.id, tc.function.name) for tc in calls] == [("call_w", "get_weather")]  # type: ignore[union-attr]
    assert calls[0].function.arguments == '{"city": "Oslo"}'  # type: ignore[union-attr]
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert finishes[-1] == "tool_calls"


def fails_after_fusion(req: FakeRequest) -> Turn | str:
    if not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    raise UpstreamError("provider fell over", 503)


async def test_error_after_the_stream_started_is_a_data_event() -> None:
    models = {**default_models(), "vendor/outer": FunctionModel(fails_after_fusion)}
    async with running(models) as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        events = await sse_events(gw.v1 + CHAT, body)
    assert events[0].startswith(":")
    last = data_of(events)[-1]
    assert last["error"]["code"] == 503
    assert "provider fell over" in last["error"]["message"]
    assert last["choices"][0]["finish_reason"] == "error"


async def test_openai_sdk_raises_on_the_error_event() -> None:
    models = {**default_models(), "vendor/outer": FunctionModel(fails_after_fusion)}
    async with running(models) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        stream = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=FUSION,  # type: ignore[arg-type]
            stream=True,
        )
        with pytest.raises(APIError, match="provider fell over"):
            async for _ in stream:
                pass


async def test_planning_errors_come_before_the_stream_as_http_errors() -> None:
    async with running() as gw:
        body = {
            "model": "vendor/outer",
            "messages": USER,
            "stream": True,
            "tools": [{"type": "openrouter:fusion", "parameters": {"max_tool_calls": 99}}],
        }
        async with aiohttp.ClientSession() as s, s.post(gw.v1 + CHAT, json=body) as r:
            assert r.status == 400
            err = (await r.json())["error"]
            assert err["param"] == "tools[0].parameters.max_tool_calls"


async def test_heartbeats_continue_while_the_panel_works_and_disconnect_cancels_it() -> None:
    gate = Gate(expected=2)
    models = {**default_models(), "vendor/a": gate.model(), "vendor/b": gate.model()}
    async with running(models, heartbeat_s=0.01) as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        async with aiohttp.ClientSession() as s:
            resp = await s.post(gw.v1 + CHAT, json=body)
            await gate.started.wait()  # both panelists are inside their upstream calls
            beats = 0
            while beats < 5:  # idle heartbeats keep coming while nothing else is written
                line = await resp.content.readline()
                assert line.strip() in (b": OPENROUTER PROCESSING", b"")
                beats += line.startswith(b":")
            resp.close()  # the client leaves mid-stream
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 2
        assert gw.upstream.in_flight == 0
        assert gw.calls("vendor/judge") == 0


async def test_disconnect_during_non_streaming_fusion_cancels_the_panel() -> None:
    gate = Gate(expected=2)
    models = {**default_models(), "vendor/a": gate.model(), "vendor/b": gate.model()}
    async with running(models) as gw:
        body = {"model": "openrouter/fusion", "messages": USER}
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(s.post(gw.v1 + CHAT, json=body))
            await gate.started.wait()
            req.cancel()
            await asyncio.gather(req, return_exceptions=True)
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 2 and gw.upstream.in_flight == 0


async def test_fusion_progress_events_when_asked_for() -> None:
    async with running() as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        events = await sse_events(gw.v1 + CHAT, body, {"x-parley-fusion-events": "1"})
        plain = await sse_events(gw.v1 + CHAT, body)
    named = [e.split("\n")[0].removeprefix("event: ") for e in events if e.startswith("event:")]
    assert named.count("response.fusion_call.panel.added") == 2
    assert named.count("response.fusion_call.panel.completed") == 2
    assert named[-3:] == [
        "response.fusion_call.analysis.in_progress",
        "response.fusion_call.analysis.completed",
        "response.fusion_call.completed",
    ]
    assert data_of(events)[-1] == "[DONE]"
    assert not any(e.startswith("event:") for e in plain)
