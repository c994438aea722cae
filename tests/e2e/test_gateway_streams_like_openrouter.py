"""Streaming as contract section 7 says: heartbeats while server tools run, the answer as
ordinary chunks, one usage chunk with empty choices, `[DONE]`; an error after the start is
a data event the SDK raises on; never `id:` lines; fusion's progress events only when
asked for."""

from __future__ import annotations

import pytest
from openai import APIError

from gateway_kit import (
    CHAT,
    USAGE,
    USER,
    data_of,
    default_models,
    progress_events,
    running,
    sse_events,
    text_of,
)
from parley.errors import UpstreamError
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call

FUSION = [{"type": "openrouter:fusion"}]


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
    async with running() as gw, gw.sdk() as c:
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


def weather_after_the_clock(req: FakeRequest) -> Turn | str:
    """Calls the server tool `datetime`, then the client's own `get_weather`."""
    if not req.tool_results:
        return tool_call("datetime", {})
    return tool_call("get_weather", {"city": "Oslo"}, "call_w")


@pytest.mark.parametrize("stream", [False, True])
async def test_client_tools_beside_server_tools_come_back_to_the_client(stream: bool) -> None:
    models = {**default_models(), "vendor/mixed": FunctionModel(weather_after_the_clock)}
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    async with running(models) as gw, gw.sdk() as c:
        got = await c.chat.completions.create(
            model="vendor/mixed",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:datetime"}, weather],  # type: ignore[list-item]
            stream=stream,
        )
        if stream:
            chunks = [ch async for ch in got]  # type: ignore[union-attr]
            choices = [ch.choices[0] for ch in chunks if ch.choices]
            calls = [tc for choice in choices for tc in choice.delta.tool_calls or []]
            finish = choices[-1].finish_reason
            usage = chunks[-1].model_dump()["usage"]
        else:
            calls = got.choices[0].message.tool_calls or []  # type: ignore[union-attr,assignment]
            finish = got.choices[0].finish_reason  # type: ignore[union-attr]
            usage = got.model_dump()["usage"]  # type: ignore[union-attr]
    assert [(tc.id, tc.function.name) for tc in calls] == [("call_w", "get_weather")]  # type: ignore[union-attr]
    assert calls[0].function.arguments == '{"city": "Oslo"}'  # type: ignore[union-attr]
    assert finish == "tool_calls"
    assert usage["server_tool_use_details"]["tool_calls_executed"] == 1


def fails_after_fusion(req: FakeRequest) -> Turn | str:
    if not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    raise UpstreamError("provider fell over", 503)


async def test_an_error_after_the_stream_started_is_a_data_event_the_sdk_raises_on() -> None:
    models = {**default_models(), "vendor/outer": FunctionModel(fails_after_fusion)}
    async with running(models) as gw, gw.sdk() as c:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        events = await sse_events(gw.v1 + CHAT, body)
        assert events[0].startswith(":")
        last = data_of(events)[-1]
        assert last["error"]["code"] == 503
        assert "provider fell over" in last["error"]["message"]
        assert last["choices"][0]["finish_reason"] == "error"
        stream = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=FUSION,  # type: ignore[arg-type]
            stream=True,
        )
        with pytest.raises(APIError, match="provider fell over"):
            async for _ in stream:
                pass


async def test_fusion_progress_events_when_asked_for() -> None:
    async with running() as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        events = await sse_events(gw.v1 + CHAT, body, {"x-parley-fusion-events": "1"})
        plain = await sse_events(gw.v1 + CHAT, body)
    named = [e["type"] for e in progress_events(events)]
    assert named[0] == "response.fusion_call.in_progress"
    assert named.count("response.fusion_call.panel.added") == 2
    assert named.count("response.fusion_call.panel.completed") == 2
    assert named[-3:] == [
        "response.fusion_call.analysis.in_progress",
        "response.fusion_call.analysis.completed",
        "response.fusion_call.completed",
    ]
    assert data_of(events)[-1] == "[DONE]"
    # Comments, which every SSE reader skips: no `event:` or non-chunk `data:` for a
    # client that validates chunks to trip on.
    assert not any(e.startswith("event:") for e in events)
    assert all("choices" in d for d in data_of(events) if isinstance(d, dict))
    assert progress_events(plain) == []
