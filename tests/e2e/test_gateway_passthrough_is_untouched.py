"""Passthrough: a request with no server tools reaches its upstream untouched, and the
upstream's answer reaches the client as it was sent (contract section 1, issue 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from openai import AsyncOpenAI, RateLimitError

from gateway_kit import (
    USAGE,
    USER,
    Gate,
    data_of,
    default_models,
    fixed,
    header,
    post,
    running,
    settings,
    sse_events,
)
from parley.errors import UpstreamError
from parley.gateway import create_app
from parley.models.base import Delta, Turn
from parley.runtime import Setup
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.server import ServerThread


async def test_plain_request_passes_through_with_unknown_fields_untouched() -> None:
    async with running() as gw:
        body = {
            "model": "vendor/a",
            "messages": USER,
            "temperature": 0.3,
            "some_future_field": {"nested": [1, 2]},
            "provider": {"order": ["x"]},
        }
        status, data = await post(gw.v1 + "/chat/completions", body)
        assert status == 200
        sent = gw.upstream.requests[-1].body
        assert sent == body  # nothing added, nothing removed
        # The upstream's own response, as it sent it: its id, its model, its usage.
        assert data["id"].startswith("fake-")
        assert data["model"] == "vendor/a"
        assert data["usage"] == USAGE
        assert data["choices"][0]["message"]["content"] == "A: Rayleigh scattering."


async def test_openai_sdk_non_streaming() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(model="vendor/b", messages=USER)  # type: ignore[arg-type]
        assert r.choices[0].message.content == "B: short wavelengths scatter more."
        assert r.usage is not None and r.usage.total_tokens == 15


async def test_openai_sdk_streaming_pipes_the_upstream_chunks() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        stream = await c.chat.completions.create(
            model="vendor/a",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
        )
        text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        assert text == "A: Rayleigh scattering."
        # stream_options were not invented on the client's behalf
        assert "stream_options" not in gw.upstream.requests[-1].body


async def test_streaming_passthrough_has_no_heartbeats_and_ends_with_done() -> None:
    async with running() as gw:
        events = await sse_events(
            gw.v1 + "/chat/completions", {"model": "vendor/a", "messages": USER, "stream": True}
        )
        assert not any(e.startswith(":") for e in events)
        assert events[-1] == "data: [DONE]"
        assert not any(line.startswith("id:") for e in events for line in e.splitlines())


async def test_api_v1_path_is_served_too() -> None:
    async with running() as gw:
        status, data = await post(
            gw.url + "/api/v1/chat/completions", {"model": "vendor/a", "messages": USER}
        )
        assert status == 200 and data["model"] == "vendor/a"


async def test_client_function_tools_come_back_as_tool_calls() -> None:
    def weather(req: FakeRequest) -> object:
        return tool_call("get_weather", {"city": "Oslo"}, "call_w")

    models = {**default_models(), "vendor/tooly": FunctionModel(weather)}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    async with running(models) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(
            model="vendor/tooly",
            messages=USER,  # type: ignore[arg-type]
            tools=tools,  # type: ignore[arg-type]
        )
        call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert r.choices[0].finish_reason == "tool_calls"
        assert gw.upstream.requests[-1].body["tools"] == tools


async def test_upstream_error_keeps_its_status_before_the_stream_starts() -> None:
    def limited(req: FakeRequest) -> str:
        raise UpstreamError("slow down", 429)

    models = {**default_models(), "vendor/busy": FunctionModel(limited)}
    async with running(models) as gw:
        status, data = await post(
            gw.v1 + "/chat/completions", {"model": "vendor/busy", "messages": USER}
        )
        assert status == 429
        assert data["error"]["type"] == "rate_limit_error"
        assert "slow down" in data["error"]["message"]
        async with AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
            try:
                await c.chat.completions.create(
                    model="vendor/busy",
                    messages=USER,  # type: ignore[arg-type]
                    stream=True,
                )
            except RateLimitError as exc:
                assert exc.status_code == 429
            else:
                raise AssertionError("a 429 before the stream must be an HTTP 429")


async def test_disconnect_cancels_the_upstream_call() -> None:
    gate = Gate()
    models = {**default_models(), "vendor/slow": gate.model()}
    async with running(models) as gw:
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(
                s.post(gw.v1 + "/chat/completions", json={"model": "vendor/slow", "messages": USER})
            )
            await gate.started.wait()
            req.cancel()  # the client hangs up
            await asyncio.gather(req, return_exceptions=True)
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 1
        assert gw.upstream.in_flight == 0


async def test_depth_header_is_forwarded() -> None:
    async with running() as gw:
        status, _ = await post(
            gw.v1 + "/chat/completions",
            {"model": "vendor/a", "messages": USER},
            {"x-openrouter-fusion-depth": "1"},
        )
        assert status == 200
        assert header(gw.upstream.requests[-1].headers, "x-openrouter-fusion-depth") == "1"


async def test_in_process_models_pass_through_the_model_protocol() -> None:
    # A model injected in-process (as local GGUF models are) has no HTTP body to pipe.
    app = create_app(Setup(settings=settings(), models={"inproc/m": fixed("in-process answer")}))
    async with ServerThread(app) as url:
        status, data = await post(
            url + "/v1/chat/completions", {"model": "inproc/m", "messages": USER}
        )
        assert status == 200
        assert data["choices"][0]["message"]["content"] == "in-process answer"
        events = await sse_events(
            url + "/v1/chat/completions", {"model": "inproc/m", "messages": USER, "stream": True}
        )
        chunks = data_of(events)
        assert chunks[-1] == "[DONE]"
        assert (
            "".join(
                c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"]
            )
            == "in-process answer"
        )


async def test_disconnect_cancels_a_streaming_passthrough() -> None:
    gate = Gate()
    models = {**default_models(), "vendor/slow": gate.model()}
    async with running(models) as gw:
        body = {"model": "vendor/slow", "messages": USER, "stream": True}
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(s.post(gw.v1 + "/chat/completions", json=body))
            await gate.started.wait()
            req.cancel()
            await asyncio.gather(req, return_exceptions=True)
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 1 and gw.upstream.in_flight == 0


class BreaksMidStream:
    """An in-process model whose stream fails after its first chunk."""

    async def complete(self, body: dict[str, object], headers: object) -> Turn:
        raise AssertionError("not used")

    async def stream(self, body: dict[str, object], headers: object) -> AsyncIterator[Delta]:
        yield Delta(text="Hel", model="m")
        raise UpstreamError("connection reset by the provider", 502)


async def test_passthrough_error_after_the_first_chunk_is_a_data_event() -> None:
    models = {"inproc/breaks": BreaksMidStream()}
    app = create_app(Setup(settings=settings(), models=models))
    async with ServerThread(app) as url:
        body = {"model": "inproc/breaks", "messages": USER, "stream": True}
        chunks = data_of(await sse_events(url + "/v1/chat/completions", body))
    text = [c["choices"][0]["delta"].get("content") for c in chunks[:-1]]
    assert "Hel" in text
    assert chunks[-1]["error"]["code"] == 502
    assert "connection reset" in chunks[-1]["error"]["message"]


async def test_an_unchanged_body_reaches_the_upstream_as_the_bytes_it_came_in() -> None:
    # Spacing no encoder would produce: only the client's own bytes have this length.
    raw = b'{ "model" :  "vendor/a",\n  "messages" : [{"role": "user", "content": "hi"}] }'
    async with running() as gw:
        status, _ = await post(gw.v1 + "/chat/completions", None, raw=raw)
        assert status == 200
        assert gw.upstream.requests[-1].headers["Content-Length"] == str(len(raw))


async def test_a_body_with_parley_fields_is_encoded_again_without_them() -> None:
    raw = (
        b'{ "model" : "vendor/a", "max_tool_calls": 3,'
        b'  "messages" : [{"role": "user", "content": "hi"}] }'
    )
    async with running() as gw:
        status, _ = await post(gw.v1 + "/chat/completions", None, raw=raw)
        assert status == 200
        sent = gw.upstream.requests[-1]
        assert "max_tool_calls" not in sent.body
        assert sent.headers["Content-Length"] != str(len(raw))
