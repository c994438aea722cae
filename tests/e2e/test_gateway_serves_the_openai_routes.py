"""The gateway answers where OpenAI's and OpenRouter's clients look: `/v1` and `/api/v1`,
with or without a trailing slash (answered in place, never redirected to a URL built from
the client's Host header); the models listing names the aliases and every configured model;
anything else is an OpenAI-shaped 404 or 405."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from gateway_kit import CHAT, USER, error_of, post, running


async def test_the_openrouter_path_is_served_too() -> None:
    async with running() as gw:
        status, data = await post(
            gw.url + "/api/v1" + CHAT, {"model": "vendor/a", "messages": USER}
        )
    assert status == 200 and data["model"] == "vendor/a"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/chat/completions/", {"model": "vendor/a", "messages": USER}),
        ("POST", "/api/v1/chat/completions/", {"model": "vendor/a", "messages": USER}),
        ("GET", "/v1/models/", None),
        ("GET", "/v1/models/vendor/a/", None),
        ("GET", "/health/", None),
    ],
)
async def test_a_trailing_slash_is_answered_not_redirected_off_site(
    method: str, path: str, body: Any
) -> None:
    async with running(api_keys=["k"]) as gw, aiohttp.ClientSession() as s:
        headers = {"Host": "evil.example", "Authorization": "Bearer k"}
        async with s.request(
            method, gw.url + path, json=body, headers=headers, allow_redirects=False
        ) as r:
            assert r.status == 200, await r.text()
            assert "Location" not in r.headers
            data = await r.json()
    if path.startswith("/v1/models/vendor"):
        assert data["id"] == "vendor/a"


async def test_models_lists_aliases_and_configured_models() -> None:
    async with running() as gw, gw.sdk() as c:
        ids = [m.id async for m in c.models.list()]
    assert ids[:2] == ["openrouter/fusion", "openrouter/fusion-flash"]
    assert {"vendor/outer", "vendor/a", "vendor/b", "vendor/judge"} <= set(ids)
    assert "local/smollm2-135m-instruct" in ids


async def test_an_unknown_route_is_404_and_a_wrong_method_405_in_openais_shape() -> None:
    async with running() as gw:
        status, data = await post(gw.url + "/v1/embeddings", {"input": "x"})
        assert status == 404
        error_of(data)
        async with aiohttp.ClientSession() as s, s.get(gw.v1 + CHAT) as r:
            assert r.status == 405
            error_of(await r.json())
