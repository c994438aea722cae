"""With API keys configured (`api_keys`, or `PARLEY_API_KEYS`), only a request carrying
one is answered, and any other value of the key headers is a 401, never a 5xx; without
keys, `parley serve` refuses to listen beyond loopback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from openai import AuthenticationError

from gateway_kit import CHAT, USER, error_of, post, running
from parley.cli import cli


async def test_api_keys_are_required_when_configured() -> None:
    async with running(api_keys=["k-one", "k-two"]) as gw:
        async with gw.sdk(api_key="wrong") as c:
            with pytest.raises(AuthenticationError):
                await c.chat.completions.create(model="vendor/a", messages=USER)  # type: ignore[arg-type]
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 401
        assert "PARLEY_API_KEYS" in error_of(data)["message"]
        async with gw.sdk(api_key="k-two") as c:
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


async def test_odd_bytes_in_key_and_event_headers_are_never_5xx() -> None:
    fusion = {"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a"]}}
    body = {"model": "vendor/outer", "messages": USER, "tools": [fusion], "stream": True}
    odd = ["\xff\xfe", "Bearer \xff", "Bearer  k-one ", "bearer k-one", "²", "Bearer", " "]
    async with running(api_keys=["k-one"]) as gw:
        for value in odd:
            for name in ("Authorization", "X-Api-Key"):
                status, data = await post(gw.v1 + CHAT, body, {name: value})
                assert status in (200, 401), (name, value, data)
                if status == 401:
                    assert error_of(data)["metadata"]["reason"] == "invalid_api_key"
            auth = {"Authorization": "Bearer k-one", "x-parley-fusion-events": value}
            status, _ = await post(gw.v1 + CHAT, body, auth)
            assert status == 200


def test_serve_refuses_to_listen_beyond_loopback_without_keys() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "PARLEY_API_KEYS" in result.output
