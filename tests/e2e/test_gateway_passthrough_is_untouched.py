"""Passthrough: a request with no server tools reaches its upstream untouched (the client's
own bytes when nothing changed, plain UTF-8 JSON otherwise), and the upstream's answer
reaches the client as it was sent (contract section 1, issue 4)."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Callable

import pytest
from openai import RateLimitError

from gateway_kit import (
    CHAT,
    USAGE,
    USER,
    data_of,
    default_models,
    fixed,
    header,
    post,
    running,
    serving,
    settings,
    sse_events,
    text_of,
)
from parley.errors import UpstreamError
from parley.models.base import Delta, Turn
from parley.runtime import Setup
from parley.testing.models import FakeRequest, FunctionModel, tool_call


async def test_plain_request_passes_through_with_unknown_fields_untouched() -> None:
    async with running() as gw:
        body = {
            "model": "vendor/a",
            "messages": USER,
            "temperature": 0.3,
            "some_future_field": {"nested": [1, 2]},
            "provider": {"order": ["x"]},
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200
        sent = gw.upstream.requests[-1].body
        assert sent == body  # nothing added, nothing removed
        # The upstream's own response, as it sent it: its id, its model, its usage.
        assert data["id"].startswith("fake-")
        assert data["model"] == "vendor/a"
        assert data["usage"] == USAGE
        assert data["choices"][0]["message"]["content"] == "A: Rayleigh scattering."


@pytest.mark.parametrize("stream", [False, True])
async def test_the_openai_sdk_gets_the_upstreams_answer(stream: bool) -> None:
    async with running() as gw, gw.sdk() as c:
        got = await c.chat.completions.create(model="vendor/a", messages=USER, stream=stream)  # type: ignore[call-overload]
        if stream:
            text = "".join([ch.choices[0].delta.content or "" async for ch in got if ch.choices])
        else:
            text = got.choices[0].message.content
            assert got.usage is not None and got.usage.total_tokens == USAGE["total_tokens"]
    assert text == "A: Rayleigh scattering."
    # stream_options were not invented on the client's behalf
    assert "stream_options" not in gw.upstream.requests[-1].body


async def test_streaming_passthrough_has_no_heartbeats_and_ends_with_done() -> None:
    async with running() as gw:
        events = await sse_events(
            gw.v1 + CHAT, {"model": "vendor/a", "messages": USER, "stream": True}
        )
        assert not any(e.startswith(":") for e in events)
        assert events[-1] == "data: [DONE]"
        assert not any(line.startswith("id:") for e in events for line in e.splitlines())


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
    async with running(models) as gw, gw.sdk() as c:
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
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/busy", "messages": USER})
        assert status == 429
        assert data["error"]["type"] == "rate_limit_error"
        assert "slow down" in data["error"]["message"]
        async with gw.sdk() as c:
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


async def test_depth_header_is_forwarded() -> None:
    async with running() as gw:
        status, _ = await post(
            gw.v1 + CHAT,
            {"model": "vendor/a", "messages": USER},
            {"x-openrouter-fusion-depth": "1"},
        )
        assert status == 200
        assert header(gw.upstream.requests[-1].headers, "x-openrouter-fusion-depth") == "1"


async def test_in_process_models_pass_through_the_model_protocol() -> None:
    # A model injected in-process (as local GGUF models are) has no HTTP body to pipe.
    setup = Setup(settings=settings(), models={"inproc/m": fixed("in-process answer")})
    async with serving(setup) as url:
        status, data = await post(url + "/v1" + CHAT, {"model": "inproc/m", "messages": USER})
        assert status == 200
        assert data["choices"][0]["message"]["content"] == "in-process answer"
        events = await sse_events(
            url + "/v1" + CHAT, {"model": "inproc/m", "messages": USER, "stream": True}
        )
    chunks = data_of(events)
    assert chunks[-1] == "[DONE]"
    assert text_of(chunks) == "in-process answer"


class BreaksMidStream:
    """An in-process model whose stream fails after its first chunk."""

    async def complete(self, body: dict[str, object], headers: object) -> Turn:
        raise AssertionError("not used")

    async def stream(self, body: dict[str, object], headers: object) -> AsyncIterator[Delta]:
        yield Delta(text="Hel", model="m")
        raise UpstreamError("connection reset by the provider", 502)


async def test_passthrough_error_after_the_first_chunk_is_a_data_event() -> None:
    setup = Setup(settings=settings(), models={"inproc/breaks": BreaksMidStream()})
    async with serving(setup) as url:
        body = {"model": "inproc/breaks", "messages": USER, "stream": True}
        chunks = data_of(await sse_events(url + "/v1" + CHAT, body))
    text = [c["choices"][0]["delta"].get("content") for c in chunks[:-1]]
    assert "Hel" in text
    assert chunks[-1]["error"]["code"] == 502
    assert "connection reset" in chunks[-1]["error"]["message"]


async def test_an_unchanged_body_reaches_the_upstream_as_the_bytes_it_came_in() -> None:
    # Spacing no encoder would produce: only the client's own bytes have this length.
    raw = b'{ "model" :  "vendor/a",\n  "messages" : [{"role": "user", "content": "hi"}] }'
    async with running() as gw:
        status, _ = await post(gw.v1 + CHAT, None, raw=raw)
        assert status == 200
        assert gw.upstream.requests[-1].headers["Content-Length"] == str(len(raw))


async def test_a_body_with_parley_fields_is_encoded_again_without_them() -> None:
    raw = (
        b'{ "model" : "vendor/a", "max_tool_calls": 3,'
        b'  "messages" : [{"role": "user", "content": "hi"}] }'
    )
    async with running() as gw:
        status, _ = await post(gw.v1 + CHAT, None, raw=raw)
        assert status == 200
        sent = gw.upstream.requests[-1]
        assert "max_tool_calls" not in sent.body
        assert sent.headers["Content-Length"] != str(len(raw))


async def test_an_empty_plugins_list_is_dropped() -> None:
    """Parley consumes `plugins`; a server that knows no `plugins` field (OpenAI's) rejects
    it even empty."""
    body = {"model": "vendor/a", "messages": USER, "plugins": []}
    async with running() as gw:
        status, _ = await post(gw.v1 + CHAT, body)
        assert status == 200
        assert "plugins" not in gw.upstream.requests[-1].body


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode(),
        lambda text: text.encode("utf-16"),
        lambda text: text.encode("utf-16-le"),
    ],
    ids=["utf-8 with BOM", "utf-16", "utf-16-le"],
)
async def test_a_body_in_another_encoding_goes_upstream_as_plain_utf8(
    encode: Callable[[str], bytes],
) -> None:
    text = json.dumps({"model": "vendor/a", "messages": [{"role": "user", "content": "hi"}]})
    raw = encode(text)
    async with running() as gw:
        status, _ = await post(gw.v1 + CHAT, None, raw=raw)
        assert status == 200
        # Python's JSON reader accepts these; many servers (Go's, Node's) do not.
        sent = gw.upstream.requests[-1]
        assert sent.headers["Content-Length"] != str(len(raw))
        assert sent.body == json.loads(text)
