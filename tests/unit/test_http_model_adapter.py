"""Providers say where a model runs and with which key; the adapter keeps upstream errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from contract_kit import ANALYSIS_JSON, QUESTION
from parley.cli.keys import KEY_ENVS
from parley.config import load_settings
from parley.errors import MissingKeyError, UpstreamError, UpstreamTimeout
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.http import new_session
from parley.models.http import ChatCompletionsModel
from parley.models.local.files import BUILTIN_IDS, local_available, local_model_ids
from parley.providers import BUILTIN, OPENAI, Router
from parley.runtime import Runtime, Setup, build
from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.upstream import FakeUpstream

SECRET = "sk-or-v1-this-is-secret"


def _router(env: dict[str, str], **overrides: object) -> Router:
    return Router(load_settings(env=env, overrides=overrides), None)


def test_vendor_ids_go_to_openrouter_with_its_key() -> None:
    route = _router({"OPENROUTER_API_KEY": SECRET}).route("anthropic/claude-x")
    assert (route.provider, route.base_url, route.upstream_model) == (
        "openrouter",
        "https://openrouter.ai/api/v1",
        "anthropic/claude-x",
    )
    assert route.api_key == SECRET


def test_openrouter_base_url_comes_from_the_environment() -> None:
    env = {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"}
    assert _router(env).route("vendor/m").base_url == "http://127.0.0.1:9/api/v1"


def test_bare_ids_go_to_openai() -> None:
    env = {"OPENAI_API_KEY": "sk-oa", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    route = _router(env).route("gpt-4.1")
    assert (route.provider, route.base_url, route.api_key) == (
        "openai",
        "http://127.0.0.1:9/v1",
        "sk-oa",
    )


def test_openai_ids_go_to_openai_directly_when_only_its_key_is_set() -> None:
    route = _router({"OPENAI_API_KEY": "sk-oa"}).route("openai/gpt-4.1")
    assert (route.provider, route.upstream_model) == ("openai", "gpt-4.1")
    both = {"OPENAI_API_KEY": "sk-oa", "OPENROUTER_API_KEY": SECRET}
    assert _router(both).route("openai/gpt-4.1").provider == "openrouter"


def test_a_configured_server_is_routed_by_its_prefix_with_its_key_variable() -> None:
    providers = {
        "ollama": {"base_url": "http://127.0.0.1:11434/v1", "key_env": "OLLAMA_KEY"},
        "lab": {"base_url": "http://127.0.0.1:8000/v1", "prefix": "lab:"},
    }
    router = _router({"OLLAMA_KEY": "k1"}, providers=providers)
    route = router.route("ollama/llama3.2")
    assert (route.provider, route.base_url, route.upstream_model, route.api_key) == (
        "ollama",
        "http://127.0.0.1:11434/v1",
        "llama3.2",
        "k1",
    )
    assert router.route("lab:qwen").upstream_model == "qwen"


def test_a_key_saved_in_the_keys_file_is_used(tmp_path: object) -> None:
    import json
    import os

    path = os.environ["PARLEY_KEYS"]
    with open(path, "w") as fh:
        json.dump({"openrouter": SECRET}, fh)
    assert _router(dict(os.environ)).route("vendor/m").api_key == SECRET


@pytest.mark.parametrize(
    ("model_id", "variable"), [("vendor/m", "OPENROUTER_API_KEY"), ("gpt-4.1", "OPENAI_API_KEY")]
)
def test_a_missing_key_names_the_variable_to_set(model_id: str, variable: str) -> None:
    with pytest.raises(MissingKeyError) as err:
        _router({}).resolve(model_id)
    assert err.value.env_var == variable
    assert variable in str(err.value)


async def test_a_panelist_without_a_key_fails_naming_the_variable() -> None:
    models = {
        "vendor/a": FunctionModel(lambda req: "A"),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
    }
    settings = load_settings({}, overrides={"panel": ["vendor/a", "vendor/nokey"]})
    runtime = Runtime(Router(settings, None, models=models))
    d = Deliberation(runtime, QUESTION, judge_default="vendor/judge")
    result = await d.run()
    assert result.status == "ok"
    assert [f.model for f in result.failed_models] == ["vendor/nokey"]
    assert "OPENROUTER_API_KEY" in result.failed_models[0].error


# --- over loopback HTTP -------------------------------------------------------------------


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
        body = {"messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(UpstreamError) as err:
            if stream:
                async for _ in model.stream(body, {}):
                    pass
            else:
                await model.complete(body, {})
    assert err.value.status_code == status
    assert message in err.value.message
    assert err.value.model == "vendor/m"
    assert SECRET not in str(err.value) and SECRET not in repr(model)


async def test_the_key_is_sent_as_a_bearer_token(session: aiohttp.ClientSession) -> None:
    async with FakeUpstream({"vendor/m": FunctionModel(lambda req: "ok")}) as up:
        await _adapter(session, up).complete({"messages": [{"role": "user", "content": "x"}]}, {})
    assert up.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_an_unreachable_upstream_is_an_upstream_error(
    session: aiohttp.ClientSession,
) -> None:
    up = FakeUpstream()
    await up.start()
    await up.stop()  # the port is now closed
    model = _adapter(session, up)
    with pytest.raises(UpstreamError) as err:
        await model.complete({"messages": [{"role": "user", "content": "x"}]}, {})
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
        d = Deliberation(runtime, QUESTION)
        if streaming:
            events = [e async for e in d.events()]
            assert any(isinstance(e, ev.PanelFailed) for e in events)
        else:
            await d.run()
    assert d.result is not None and d.result.status == "ok"
    assert [r.content for r in d.result.responses] == ["fast answer"]
    failed = d.result.failed_models
    assert [f.model for f in failed] == ["vendor/slow"]
    assert "PARLEY_UPSTREAM_TIMEOUT" in failed[0].error
    assert d.result.analysis is not None


def test_timeouts_have_a_connect_bound_and_a_whole_call_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parley import _constants as C
    from parley.http import upstream_timeout

    t = upstream_timeout(load_settings().upstream_timeout)
    assert (t.total, t.connect) == (C.UPSTREAM_TOTAL_TIMEOUT_S, C.UPSTREAM_CONNECT_TIMEOUT_S)
    monkeypatch.setenv("PARLEY_UPSTREAM_TIMEOUT", "2.5")
    assert upstream_timeout(load_settings().upstream_timeout).total == 2.5
    assert UpstreamTimeout.__mro__[1] is UpstreamError


async def test_a_stream_chunk_over_128_kib_is_read_whole(session: aiohttp.ClientSession) -> None:
    """aiohttp's readline refuses lines over 128 KiB; one chunk of a long answer can be that."""
    text = " ".join(["word"] * 60_000)  # ~300 KB, sent as one chunk
    big = FunctionModel(lambda req: text, chunk_words=100_000)
    async with FakeUpstream({"vendor/m": big}) as up:
        model = _adapter(session, up)
        deltas = [
            d async for d in model.stream({"messages": [{"role": "user", "content": "x"}]}, {})
        ]
    assert "".join(d.text for d in deltas) == text


async def test_a_malformed_stream_chunk_is_an_upstream_error(
    session: aiohttp.ClientSession,
) -> None:
    from aiohttp import web

    async def broken(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b": heartbeat\n\ndata: {not json\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        model = ChatCompletionsModel(
            session, base_url=f"http://127.0.0.1:{port}/v1", upstream_model="m", model_id="m"
        )
        with pytest.raises(UpstreamError) as err:
            async for _ in model.stream({"messages": []}, {}):
                pass
    finally:
        await runner.cleanup()
    assert err.value.status_code == 502 and "{not json" in err.value.message


async def test_reasoning_is_sent_in_each_providers_own_spelling(
    session: aiohttp.ClientSession,
) -> None:
    fm = FunctionModel(lambda req: "ok")
    async with FakeUpstream(default=fm) as up:
        env = {"OPENAI_BASE_URL": up.base_url, "OPENROUTER_BASE_URL": up.base_url}
        router = Router(load_settings(env=env), session)
        body = {"messages": [{"role": "user", "content": "x"}], "reasoning": {"effort": "low"}}
        await router.resolve("gpt-5").complete(body, {})  # OpenAI's own API
        await router.resolve("openai/gpt-5").complete(body, {})  # through OpenRouter
    to_openai, to_openrouter = (r.body for r in up.requests)
    assert to_openai["reasoning_effort"] == "low" and "reasoning" not in to_openai
    assert to_openrouter["reasoning"] == {"effort": "low"}
    assert "reasoning_effort" not in to_openrouter


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


def test_one_builtin_table_drives_routing_and_key_names() -> None:
    for prov in BUILTIN:
        env = {prov.key_env: SECRET, prov.url_env: "http://127.0.0.1:9/v1"}
        route = _router(env).route("gpt-x" if prov is OPENAI else "vendor/m")
        assert (route.provider, route.base_url, route.key_env, route.api_key) == (
            prov.name,
            "http://127.0.0.1:9/v1",
            prov.key_env,
            SECRET,
        )
        assert KEY_ENVS[prov.name] == prov.key_env


def test_local_ids_are_listed_only_where_local_models_can_run() -> None:
    expected = [*BUILTIN_IDS, "local/mine"] if local_available() else []
    assert local_model_ids(["mine", BUILTIN_IDS[0].removeprefix("local/")]) == expected
