"""No credential Parley holds reaches anything it sends, shows, logs or stores.

Planted: an OpenRouter key, a credential in a configured provider header, a password in a
provider's `base_url`, and a gateway API key. Upstreams echo every header they were sent
in every way they can fail (a 200 that is not JSON, an SSE line that is not JSON, 4xx and
5xx bodies, a timeout), and every place the echo could surface is read back.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner

from gateway_kit import USER, fixed, outer, sdk, serving
from parley import FakeRequest, FunctionModel, UpstreamError
from parley.cli import cli
from parley.config import load_settings
from parley.http import new_session
from parley.providers import Router
from parley.redact import redact_url
from parley.runtime import Setup
from parley.testing import ANALYSIS_JSON
from parley.testing.upstream import FakeUpstream, RawModel, RawReply, Recorded

KEY = "sk-or-v1-0123456789abcdef"
HEADER_SECRET = "corp-hdr-5f4e3d2c1b0a9988"
PASSWORD = "pw-hunter2-77aa66bb"
GATEWAY_KEY = "gw-key-0f1e2d3c4b5a6978"
SECRETS = (KEY, HEADER_SECRET, PASSWORD, GATEWAY_KEY)


def echo(req: Recorded) -> str:
    """Everything the upstream was sent, as a careless server would quote it back."""
    return json.dumps({"headers": req.headers, "body": req.body})


def not_json(req: Recorded) -> RawReply:
    return RawReply(f"<html>bad gateway; you sent {echo(req)}</html>".encode())


def sse_not_json(req: Recorded) -> RawReply:
    first = {"id": "x", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    return RawReply(
        [b"data: " + json.dumps(first).encode() + b"\n\n", f"data: {echo(req)}\n\n".encode()],
        content_type="text/event-stream",
    )


def status_echo(status: int) -> RawModel:
    return RawModel(lambda req: RawReply(echo(req).encode(), status=status))


def chunk(text: str) -> bytes:
    body = {"id": "x", "object": "chat.completion.chunk", "model": "m"}
    body["choices"] = [{"index": 0, "delta": {"content": text}, "finish_reason": None}]
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def split_key(req: Recorded) -> RawReply:
    """A stream quoting the key in two pieces: no one chunk holds it."""
    end = {"id": "x", "object": "chat.completion.chunk", "model": "m"}
    end["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    pieces = [chunk("the key is " + KEY[:10]), chunk(KEY[10:] + ", see?")]
    done = [b"data: " + json.dumps(end).encode() + b"\n\n", b"data: [DONE]\n\n"]
    return RawReply([*pieces, *done], content_type="text/event-stream")


def escaped_key(req: Recorded) -> RawReply:
    """The key with a character JSON-escaped: the same text once decoded."""

    def escape(raw: bytes) -> bytes:
        return raw.replace(KEY.encode(), b"\\u0073" + KEY[1:].encode())

    if req.body.get("stream"):
        pieces = [escape(chunk(f"k={KEY}")), b"data: [DONE]\n\n"]
        return RawReply(pieces, content_type="text/event-stream")
    message = {"role": "assistant", "content": f"k={KEY}"}
    body = {"id": "x", "object": "chat.completion", "model": "m"}
    body["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
    return RawReply(escape(json.dumps(body).encode()))


def hang(req: Recorded) -> RawReply:
    return RawReply(b"", then="hang")


def leaks(text: str | bytes) -> list[str]:
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [s for s in SECRETS if s in data]


@dataclass
class Leak:
    url: str
    up: FakeUpstream
    db: Path


@pytest.fixture
async def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Leak]:
    models: dict[str, FunctionModel | RawModel] = {
        "vendor/not-json": RawModel(not_json),
        "vendor/sse-not-json": RawModel(sse_not_json),
        "vendor/401": status_echo(401),
        "vendor/500": status_echo(500),
        "vendor/hang": RawModel(hang),
        "vendor/split": RawModel(split_key),
        "vendor/escaped": RawModel(escaped_key),
        "echo-400": status_echo(400),  # the corp provider's model, as its server knows it
        "vendor/ok": fixed("OK: Rayleigh scattering."),
        "vendor/judge": fixed(ANALYSIS_JSON),
        "vendor/outer": outer(),
    }
    async with FakeUpstream(models) as up:
        config = tmp_path / "config.toml"
        base = up.base_url.replace("http://", f"http://corp-user:{PASSWORD}@")
        config.write_text(
            "log_gateway = true\n"
            "[providers.corp]\n"
            f'base_url = "{base}"\n'
            f'headers = {{ X-Corp-Token = "{HEADER_SECRET}", X-Title = "Parley" }}\n'
        )
        env = {
            "OPENROUTER_BASE_URL": up.base_url,
            "OPENROUTER_API_KEY": KEY,
            "PARLEY_CONFIG": str(config),
            "PARLEY_LOG_DB": str(tmp_path / "logs.db"),
            "PARLEY_UPSTREAM_TIMEOUT": "2",
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        settings = load_settings(overrides={"judge": "vendor/judge"})
        async with serving(Setup(settings=settings), api_keys=[GATEWAY_KEY]) as url:
            yield Leak(url, up, tmp_path / "logs.db")


def client(g: Leak) -> openai.AsyncOpenAI:
    return sdk(g.url + "/v1", GATEWAY_KEY)


FAILING = ["vendor/not-json", "vendor/sse-not-json", "vendor/401", "vendor/500", "corp/echo-400"]


async def drive(c: openai.AsyncOpenAI) -> list[str]:
    """Every way in, every failure: what the client received, as text."""
    seen: list[str] = []
    fusion = {
        "type": "openrouter:fusion",
        "parameters": {"analysis_models": [*FAILING, "vendor/ok"], "tools": []},
    }
    # The fusion result (failed_models quoting every echo) goes to the outer model.
    answer = await c.chat.completions.create(model="vendor/outer", messages=USER, tools=[fusion])
    seen.append(answer.model_dump_json())
    # The same, streamed with the panel's progress events (panel.failed quotes each error).
    raw = await c.chat.completions.with_raw_response.create(
        model="vendor/outer",
        messages=USER,
        tools=[fusion],
        stream=True,
        extra_headers={"x-parley-fusion-events": "1"},
    )
    seen.append((await raw.http_response.aread()).decode())
    # Every failing upstream as the outer model itself: errors before and after a stream.
    for model in [*FAILING, "vendor/hang"]:
        for stream in (False, True):
            try:
                got = await c.chat.completions.create(
                    model=model, messages=USER, tools=[fusion], stream=stream
                )
                if stream:
                    async for chunk in got:  # type: ignore[union-attr]
                        seen.append(chunk.model_dump_json())
            except openai.APIError as exc:
                seen.append(f"{exc} {exc.body}")
    # Passthrough (no server tool): the upstream's bytes are piped to the client.
    for model in FAILING:
        for stream in (False, True):
            try:
                raw = await c.chat.completions.with_raw_response.create(
                    model=model, messages=USER, stream=stream
                )
                seen.append((await raw.http_response.aread()).decode())
            except openai.APIError as exc:
                seen.append(f"{exc} {exc.body}")
    return seen


async def test_echoed_credentials_reach_no_response_event_log_or_provider(
    gateway: Leak, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="parley")
    async with client(gateway) as c:
        seen = await drive(c)
    assert not [leaks(s) for s in seen if leaks(s)], "a response carried a credential"
    sent = [json.dumps(r.body) for r in gateway.up.requests]
    assert not [leaks(s) for s in sent if leaks(s)], "a request body carried a credential"
    assert any("failed_models" in s for s in sent), "the outer model never saw failed_models"
    assert not leaks(caplog.text)
    assert gateway.db.exists()
    assert not leaks(gateway.db.read_bytes())
    runner = CliRunner()
    for args in (["logs", "-n", "50", "--json"], ["logs", "show", "--json"], ["logs", "show"]):
        out = runner.invoke(cli, args)
        assert out.exit_code == 0, out.output
        assert not leaks(out.output), args
    for args in (["config", "show"], ["config", "show", "--json"]):
        out = runner.invoke(cli, args)
        assert out.exit_code == 0, out.output
        assert not leaks(out.output), args
        assert "corp-user" in out.output or "***" in out.output


async def test_a_key_split_across_chunks_or_json_escaped_is_masked_too(gateway: Leak) -> None:
    clock = [{"type": "openrouter:datetime"}]
    seen: list[str] = []
    async with client(gateway) as c:
        # Split across two deltas, where Parley reads the stream (a server tool beside)
        # and where it pipes the upstream's chunks as they came.
        for tools in (clock, None):
            kw = {"tools": tools} if tools else {}
            got = await c.chat.completions.create(
                model="vendor/split",
                messages=USER,
                stream=True,
                **kw,  # type: ignore[arg-type]
            )
            text = "".join([ch.choices[0].delta.content or "" async for ch in got if ch.choices])
            assert text == "the key is ***, see?"
        # Escaped, piped as it came and read by Parley, whole and streamed.
        for tools in (None, clock):
            for stream in (False, True):
                kw = {"tools": tools} if tools else {}
                raw = await c.chat.completions.with_raw_response.create(
                    model="vendor/escaped",
                    messages=USER,
                    stream=stream,
                    **kw,  # type: ignore[arg-type]
                )
                seen.append((await raw.http_response.aread()).decode())
    decoded = [json.loads(f'"{s}"') for s in (json.dumps(x)[1:-1] for x in seen)]
    assert all("\\u0073" + KEY[1:] not in s for s in seen), seen
    assert all(KEY not in d for d in decoded)
    assert all("***" in s for s in seen), seen


def echoing(req: FakeRequest) -> str:
    # Some upstreams quote the credential they rejected.
    raise UpstreamError(f"invalid key {req.headers.get('Authorization', '')}", 401)


async def test_an_upstream_that_echoes_the_key_does_not_leak_it() -> None:
    async with FakeUpstream({"vendor/a": FunctionModel(echoing)}) as up, new_session() as s:
        env = {"OPENROUTER_BASE_URL": up.base_url, "OPENROUTER_API_KEY": KEY}
        router = Router(load_settings(env), s)
        model = router.resolve("vendor/a")
        with pytest.raises(UpstreamError) as err:
            await model.complete({"messages": [{"role": "user", "content": "hi"}]}, {})
    assert err.value.status_code == 401
    assert KEY not in str(err.value) and "***" in str(err.value)
    assert KEY not in repr(model) and KEY not in repr(router.route("vendor/a"))
    assert KEY not in repr(router.redactor)


def test_credentials_in_a_base_url_are_hidden_when_shown() -> None:
    shown = redact_url("http://user:hunter2-secret@llm.internal:8080/v1")
    assert "hunter2-secret" not in shown and "llm.internal:8080/v1" in shown


def test_the_basic_token_of_a_url_password_is_masked_too() -> None:
    """An HTTP client turns `user:password@` into `Authorization: Basic <base64>`; an
    upstream that echoes that header must not hand the password back in base64."""
    settings = load_settings(
        {}, overrides={"providers": {"corp": {"base_url": f"http://u:{PASSWORD}@h/v1"}}}
    )
    router = Router(settings, None)
    token = base64.b64encode(f"u:{PASSWORD}".encode()).decode()
    masked = router.redactor.text(f"Authorization: Basic {token}; pw={PASSWORD}")
    assert token not in masked and PASSWORD not in masked
