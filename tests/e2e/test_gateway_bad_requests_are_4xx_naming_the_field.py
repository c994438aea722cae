"""Errors in OpenAI's shape with the right status: what the client can fix is 4xx, never
5xx; what the operator must fix is 503; the body limit; API keys; the bind guard; the
models listing."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from openai import AsyncOpenAI, AuthenticationError

from gateway_kit import USER, post, running
from parley.cli import cli
from parley.gateway.auth import check_bind

CHAT = "/chat/completions"


def assert_openai_error(data: Any, status: int) -> dict[str, Any]:
    assert set(data) == {"error"}
    err = data["error"]
    assert {"message", "type", "code"} <= set(err)
    assert err["message"]
    return dict(err)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_malformed_bodies_are_400(raw: bytes, fragment: str) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, None, raw=raw)
        assert status == 400
        err = assert_openai_error(data, 400)
        assert fragment in err["message"] and err["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "vendor/a"}, "messages"),
        ({"model": "vendor/a", "messages": "hi"}, "messages"),
        ({"model": "vendor/a", "messages": []}, "messages"),
        ({"model": "vendor/a", "messages": [{"content": "no role"}]}, "messages"),
        ({"model": 7, "messages": USER}, "model"),
        ({"model": "vendor/a", "messages": USER, "tools": "x"}, "tools"),
        ({"model": "vendor/a", "messages": USER, "tools": [1]}, "tools[0]"),
        ({"model": "vendor/a", "messages": USER, "max_tool_calls": 0}, "max_tool_calls"),
        ({"model": "vendor/a", "messages": USER, "stream": "sometimes"}, "stream"),
        (
            {"model": "vendor/a", "messages": USER, "tools": [{"type": "openrouter:teleport"}]},
            "tools[0].type",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [{"type": "openrouter:fusion", "parameters": {"temperature": 3}}],
            },
            "tools[0].parameters.temperature",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "plugins": [{"id": "fusion", "analysis_models": []}],
            },
            "plugins[0].analysis_models",
        ),
        (
            {"model": "vendor/outer", "messages": USER, "plugins": [{"id": "fusion", "x": 1}]},
            "plugins[0].x",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "plugins": [{"id": "fusion", "preset": "nope"}],
            },
            "plugins[0].preset",
        ),
    ],
)
async def test_wrong_fields_are_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 400, data
        err = assert_openai_error(data, 400)
        assert err["param"] == param
        assert param in err["message"]


async def test_bad_depth_header_is_400() -> None:
    async with running() as gw:
        status, data = await post(
            gw.v1 + CHAT,
            {"model": "vendor/a", "messages": USER},
            {"x-openrouter-fusion-depth": "x"},
        )
        assert status == 400
        assert assert_openai_error(data, 400)["param"] == "x-openrouter-fusion-depth"


async def test_body_over_the_limit_is_413() -> None:
    async with running(max_body=2000) as gw:
        big = [{"role": "user", "content": "x" * 5000}]
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": big})
        assert status == 413
        assert "--max-body" in assert_openai_error(data, 413)["message"]
        status, _ = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 200


async def test_missing_provider_key_is_503_naming_model_and_variable() -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, {"model": "gpt-4.1", "messages": USER})
        assert status == 503
        err = assert_openai_error(data, 503)
        assert "OPENAI_API_KEY" in err["message"] and "'gpt-4.1'" in err["message"]
        assert err["code"] == "missing_provider_key"


async def test_unknown_upstream_model_keeps_the_upstream_404() -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/nope", "messages": USER})
        assert status == 404
        assert "vendor/nope" in assert_openai_error(data, 404)["message"]


async def test_unknown_route_and_wrong_method_are_openai_errors() -> None:
    async with running() as gw:
        status, data = await post(gw.url + "/v1/embeddings", {"input": "x"})
        assert status == 404
        assert_openai_error(data, 404)
        import aiohttp

        async with aiohttp.ClientSession() as s, s.get(gw.v1 + CHAT) as r:
            assert r.status == 405
            assert_openai_error(await r.json(), 405)


async def test_models_lists_aliases_and_configured_models() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        ids = [m.id async for m in c.models.list()]
    assert ids[:2] == ["openrouter/fusion", "openrouter/fusion-flash"]
    assert {"vendor/outer", "vendor/a", "vendor/b", "vendor/judge"} <= set(ids)
    assert "local/smollm2-135m-instruct" in ids


async def test_api_keys_are_required_when_configured() -> None:
    async with running(api_keys=["k-one", "k-two"]) as gw:
        async with AsyncOpenAI(base_url=gw.v1, api_key="wrong", max_retries=0) as c:
            with pytest.raises(AuthenticationError):
                await c.chat.completions.create(model="vendor/a", messages=USER)  # type: ignore[arg-type]
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 401
        assert "PARLEY_API_KEYS" in assert_openai_error(data, 401)["message"]
        async with AsyncOpenAI(base_url=gw.v1, api_key="k-two", max_retries=0) as c:
            r = await c.chat.completions.create(model="vendor/a", messages=USER)  # type: ignore[arg-type]
            assert r.choices[0].message.content
        status, _ = await post(gw.url + "/health", None, raw=b"")  # POST: 405, but not 401
        assert status == 405


async def test_api_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_API_KEYS", " k1 , k2 ")
    async with running() as gw:
        status, _ = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 401
        status, _ = await post(
            gw.v1 + CHAT, {"model": "vendor/a", "messages": USER}, {"Authorization": "Bearer k2"}
        )
        assert status == 200


def test_bind_guard() -> None:
    assert check_bind("127.0.0.1", has_keys=False, insecure=False) is None
    assert check_bind("::1", has_keys=False, insecure=False) is None
    assert check_bind("localhost", has_keys=False, insecure=False) is None
    refusal = check_bind("0.0.0.0", has_keys=False, insecure=False)
    assert refusal and "PARLEY_API_KEYS" in refusal and "--insecure" in refusal
    assert check_bind("0.0.0.0", has_keys=True, insecure=False) is None
    assert check_bind("0.0.0.0", has_keys=False, insecure=True) is None


def test_serve_refuses_to_listen_beyond_loopback_without_keys() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "PARLEY_API_KEYS" in result.output
