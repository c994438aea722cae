"""The HTTP adapter (ChatCompletionsModel) against a loopback upstream: upstream errors keep
their status and message, the key goes as a bearer token and never into an error, time
bounds end a stuck call, and long or tool-laden conversations are sent in a shape every
provider accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from parley import _constants as C
from parley.config import load_settings
from parley.errors import UpstreamError, UpstreamTimeout
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.http import Bounds, new_session
from parley.models.http import ChatCompletionsModel
from parley.runtime import Setup, build
from parley.testing import ANALYSIS_JSON, FakeRequest, FakeUpstream, FunctionModel

SECRET = "sk-or-v1-this-is-secret"
HI = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session() as s:
        yield s


def _adapter(
    session: aiohttp.ClientSession, up: FakeUpstream, key: str = SECRET
) -> ChatCompletionsModel:
    return ChatCompletionsModel(
        session, base_url=up.base_url, upstream_model="vendor/m", model_id="vendor/m", api_key=key
    )


def _raising(status: int, message: str) -> FunctionModel:
    def reply(req: FakeRequest) -> str:
        raise UpstreamError(message, status)

    return FunctionModel(reply)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("status", "message"), [(429, "Rate limit exceeded"), (402, "No credits")])
async def test_upstream_errors_keep_their_status_code_and_message(
    session: aiohttp.ClientSession, stream: bool, status: int, message: str
) -> None:
    async with FakeUpstream({"vendor/m": _raising(status, message)}) as up:
        model = _adapter(session, up)
        with pytest.raises(UpstreamError) as err:
            if stream:
                async for _ in model.stream(HI, {}):
                    pass
            else:
                await model.complete(HI, {})
    assert err.value.status_code == status
    assert message in err.value.message
    assert err.value.model == "vendor/m"
    assert SECRET not in str(err.value) and SECRET not in repr(model)


async def test_the_key_is_sent_as_a_bearer_token(session: aiohttp.ClientSession) -> None:
    async with FakeUpstream({"vendor/m": FunctionModel(lambda req: "ok")}) as up:
        await _adapter(session, up).complete(HI, {})
    assert up.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_an_unreachable_upstream_is_an_upstream_error(
    session: aiohttp.ClientSession,
) -> None:
    up = FakeUpstream()
    await up.start()
    await up.stop()  # the port is now closed
    model = _adapter(session, up)
    with pytest.raises(UpstreamError) as err:
        await model.complete(HI, {})
    assert "cannot reach" in err.value.message and err.value.status_code is None


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_panelist_that_times_out_fails_and_the_others_are_kept(streaming: bool) -> None:
    """The slow upstream waits on an event nobody sets; only the timeout can end its call."""
    never = asyncio.Event()

    async def hang(req: FakeRequest) -> str:
        await never.wait()
        return "never"

    models = {
        "vendor/fast": FunctionModel(lambda req: "fast answer"),
        "vendor/slow": FunctionModel(hang),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
    }
    # Generous enough that the fast panelist and the judge finish on a loaded machine;
    # injected through the runtime's env, as a library user would.
    async with FakeUpstream(models) as up, new_session() as s:
        env = {"OPENROUTER_BASE_URL": up.base_url, "PARLEY_UPSTREAM_TIMEOUT": "1.5"}
        settings = load_settings(
            env, overrides={"panel": ["vendor/fast", "vendor/slow"], "judge": "vendor/judge"}
        )
        runtime = build(Setup(settings=settings), s)
        d = Deliberation(runtime, "Why is the sky blue?")
        if streaming:
            events = [e async for e in d.events()]
            assert any(isinstance(e, ev.PanelFailed) for e in events)
        else:
            await d.run()
    assert d.result is not None and d.result.status == "ok"
    assert [r.content for r in d.result.responses] == ["fast answer"]
    failed = d.result.failed_models
    assert [f.model for f in failed] == ["vendor/slow"]
    assert "upstream_*_timeout" in failed[0].error
    assert d.result.analysis is not None


def test_timeouts_bound_connect_first_byte_silence_and_the_whole_call() -> None:
    b = Bounds()
    streamed, whole = b.timeout(stream=True), b.timeout(stream=False)
    assert (streamed.total, streamed.sock_connect) == (
        C.UPSTREAM_TOTAL_TIMEOUT_S,
        C.UPSTREAM_CONNECT_TIMEOUT_S,
    )
    # A stream may not go silent; a whole answer may, until it is written.
    assert streamed.sock_read == C.UPSTREAM_IDLE_TIMEOUT_S and whole.sock_read is None
    assert b.first_byte(stream=True) == C.UPSTREAM_FIRST_BYTE_TIMEOUT_S
    assert b.first_byte(stream=False) == C.UPSTREAM_TOTAL_TIMEOUT_S
    env = {"PARLEY_UPSTREAM_TIMEOUT": "2.5", "PARLEY_UPSTREAM_IDLE_TIMEOUT": "1"}
    settings = load_settings(env)
    assert (settings.upstream_timeout, settings.upstream_idle_timeout) == (2.5, 1.0)
    assert UpstreamTimeout.__mro__[1] is UpstreamError


async def test_a_stream_chunk_over_128_kib_is_read_whole(session: aiohttp.ClientSession) -> None:
    """aiohttp's readline refuses lines over 128 KiB; one chunk of a long answer can be that."""
    text = " ".join(["word"] * 60_000)  # ~300 KB, sent as one chunk
    big = FunctionModel(lambda req: text, chunk_words=100_000)
    async with FakeUpstream({"vendor/m": big}) as up:
        deltas = [d async for d in _adapter(session, up).stream(HI, {})]
    assert "".join(d.text for d in deltas) == text


async def test_tool_turns_are_sent_as_text_when_a_request_offers_no_tools(
    session: aiohttp.ClientSession,
) -> None:
    """Anthropic and Bedrock reject tool blocks in a request that defines no tools."""
    fm = FunctionModel(lambda req: "ok")
    history = [
        {"role": "user", "content": "Sky?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "web_search", "arguments": '{"query": "sky"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"results": []}'},
    ]
    tools = [{"type": "function", "function": {"name": "web_search", "parameters": {}}}]
    async with FakeUpstream({"vendor/m": fm}) as up:
        model = _adapter(session, up)
        await model.complete({"messages": history}, {})
        await model.complete({"messages": history, "tools": tools}, {})
    as_text, structured = (r.body["messages"] for r in up.requests)
    assert [m["role"] for m in as_text] == ["user", "assistant", "user"]
    assert as_text[1]["content"] == '[Called web_search with {"query": "sky"}]'
    assert as_text[2]["content"] == '[Result of web_search]\n{"results": []}'
    assert not any("tool_calls" in m for m in as_text)
    assert structured == history
    assert fm.requests[0].tool_results == fm.requests[1].tool_results == ['{"results": []}']
