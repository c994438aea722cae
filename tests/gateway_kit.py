"""What the gateway tests share: a real server on loopback in front of a FakeUpstream, and
the ways a test reads what it answered (JSON errors, SSE events, streamed text)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from openai import AsyncOpenAI

from parley.config import load_settings
from parley.gateway import create_app
from parley.models.base import Turn
from parley.runtime import Setup
from parley.testing import ANALYSIS_JSON
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.server import ServerThread
from parley.testing.upstream import FakeUpstream, RawModel

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.001}
ANALYSIS = ANALYSIS_JSON  # the judge's answer, as the JSON text it writes
USER = [{"role": "user", "content": "Why is the sky blue?"}]
CHAT = "/chat/completions"


def fixed(text: str) -> FunctionModel:
    """Answers `text`, reporting USAGE for every call."""
    return FunctionModel(lambda req: Turn(content=text, finish_reason="stop", usage=dict(USAGE)))


def forced(req: FakeRequest) -> bool:
    choice = req.body.get("tool_choice")
    return isinstance(choice, dict) and choice.get("function", {}).get("name") == "fusion"


def outer(*, eager: bool = True) -> FunctionModel:
    """Calls fusion when offered (or only when forced, if not `eager`), then answers with
    how many panel responses it got."""

    def reply(req: FakeRequest) -> Turn:
        if not req.tool_results and (forced(req) or (eager and "fusion" in req.tools)):
            t = tool_call("fusion", {"question": req.last_user})
        else:
            result = json.loads(req.tool_results[-1]) if req.tool_results else {}
            n = len(result.get("responses", []))
            t = Turn(content=f"Final answer from {n} panel responses.", finish_reason="stop")
        t.usage = dict(USAGE)
        return t

    return FunctionModel(reply)


def default_models() -> dict[str, FunctionModel]:
    return {
        "vendor/a": fixed("A: Rayleigh scattering."),
        "vendor/b": fixed("B: short wavelengths scatter more."),
        "vendor/judge": fixed(ANALYSIS),
        "vendor/outer": outer(),
    }


def settings(env: Mapping[str, str] | None = None) -> Any:
    trio = {"analysis_models": ["vendor/a", "vendor/b"], "model": "vendor/judge"}
    return load_settings(
        env,
        overrides={
            "model": "vendor/outer",
            "panel": ["vendor/a", "vendor/b"],
            "judge": "vendor/judge",
            "presets": {
                "general-high": {**trio, "outer": "vendor/outer"},
                "general-fast": {
                    "analysis_models": ["vendor/a"],
                    "model": "vendor/judge",
                    "outer": "vendor/outer",
                },
            },
        },
    )


def sdk(v1: str, api_key: str = "x") -> AsyncOpenAI:
    """The official client aimed at a gateway's `/v1`, without retries."""
    return AsyncOpenAI(base_url=v1, api_key=api_key, max_retries=0)


@dataclass
class Gateway:
    url: str
    upstream: FakeUpstream
    models: Mapping[str, FunctionModel | RawModel]

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def calls(self, model: str) -> int:
        return len(self.models[model].requests)

    def sdk(self, api_key: str = "x") -> AsyncOpenAI:
        return sdk(self.v1, api_key)


@contextlib.asynccontextmanager
async def serving(setup: Setup, **app_kw: Any) -> AsyncIterator[str]:
    """The gateway for exactly this setup on loopback: its base URL (without `/v1`)."""
    async with ServerThread(create_app(setup, **app_kw)) as url:
        yield url


@contextlib.asynccontextmanager
async def running(
    models: Mapping[str, FunctionModel | RawModel] | None = None,
    *,
    upstream: Callable[[dict[str, FunctionModel | RawModel]], FakeUpstream] = FakeUpstream,
    **app_kw: Any,
) -> AsyncIterator[Gateway]:
    """The gateway in front of `upstream(models)`: a FakeUpstream (RawModels for faults),
    or a subclass that answers some route its own way."""
    models = dict(models or default_models())
    async with upstream(models) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url}
        injected = {k: app_kw.pop(k) for k in ("search", "fetcher") if k in app_kw}
        async with serving(Setup(settings=settings(env), **injected), **app_kw) as url:
            yield Gateway(url, up, models)


async def post(
    url: str, body: Any, headers: Mapping[str, str] | None = None, raw: bytes | None = None
) -> tuple[int, Any]:
    """(status, JSON body or text) of one POST."""
    async with aiohttp.ClientSession() as s:
        kw: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with s.post(url, headers=dict(headers or {}), **kw) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text


async def sse_events(
    url: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> list[str]:
    """The events of a streamed answer, as raw text blocks (comments included)."""
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, json=body, headers=dict(headers or {})) as r,
    ):
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("text/event-stream")
        text = (await r.read()).decode()
    return [e for e in text.split("\n\n") if e]


def data_of(events: list[str]) -> list[Any]:
    """The JSON payloads of `data:` events ([DONE] kept as the string)."""
    out: list[Any] = []
    for e in events:
        if e.startswith("data: "):
            payload = e[len("data: ") :]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def nested(levels: int) -> str:
    """JSON text nesting `levels` arrays around a 1 (deeper than any parser should follow)."""
    return "[" * levels + "1" + "]" * levels


def text_of(chunks: list[Any]) -> str:
    """The answer's text, put together from its streamed chunks."""
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c.get("choices")
    )


def error_of(data: Any) -> dict[str, Any]:
    """The error of an error response in OpenAI's shape, checked: a message, and never
    the server's own `internal` failure."""
    assert isinstance(data, dict) and set(data) == {"error"}, data
    err = dict(data["error"])
    assert {"message", "type", "code"} <= set(err), err
    assert err["message"] and err["metadata"].get("reason") != "internal", err
    assert isinstance(err["code"], int)
    return err


class Gate:
    """Upstream replies that wait until released, and say when they started and were
    cancelled: synchronisation by events, never by sleeping. `threads=True` makes them
    thread events, for an upstream served from its own thread (the page tests)."""

    def __init__(self, expected: int = 1, *, threads: bool = False) -> None:
        self.expected = expected
        self.started: asyncio.Event | threading.Event = (
            threading.Event() if threads else asyncio.Event()
        )
        self.gone: asyncio.Event | threading.Event = (
            threading.Event() if threads else asyncio.Event()
        )
        self._started = 0
        self._gone = 0

    def model(self) -> FunctionModel:
        async def reply(req: FakeRequest) -> str:
            self._started += 1
            if self._started >= self.expected:
                self.started.set()
            try:
                await asyncio.Event().wait()  # until the client's request is cancelled
            except asyncio.CancelledError:
                self._gone += 1
                if self._gone >= self.expected:
                    self.gone.set()
                raise
            return "unreachable"

        return FunctionModel(reply)


class Held:
    """A panelist that answers only once released, and says when it was called. Thread
    events, so that it works in an upstream on the test's loop or in its own thread."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def model(self) -> FunctionModel:
        async def reply(req: FakeRequest) -> str:
            self.started.set()
            await asyncio.to_thread(self.release.wait, 60)
            return "A: held, then released."

        return FunctionModel(reply)

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 30), "the panelist was not called"


def header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def progress_events(events: list[str]) -> list[dict[str, Any]]:
    """The fusion progress a Chat Completions stream carries in SSE comments
    (`: response.fusion_call.panel.added {...}`), each payload checked to carry its name."""
    out = []
    for e in events:
        if e.startswith(": response."):
            name, _, payload = e.removeprefix(": ").partition(" ")
            data = json.loads(payload)
            assert data["type"] == name
            out.append(data)
    return out


CONFIG = """\
model = "vendor/outer"
judge = "vendor/judge"
panel = ["vendor/a", "vendor/b"]

[presets.general-high]
analysis_models = ["vendor/a", "vendor/b"]
model = "vendor/judge"
outer = "vendor/outer"

[presets.general-fast]
analysis_models = ["vendor/a"]
model = "vendor/judge"
outer = "vendor/outer"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def parley_serve(
    home: Path, upstream_url: str, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`parley serve` as a user runs it (a subprocess with a config file in `home`, the
    provider's base URL in its environment), once it listens: its URL and process. Its
    stderr is left unread after startup, for a test that waits for a line of it."""
    config = home / "config.toml"
    config.write_text(CONFIG)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve", "--port", str(port)],
        env={
            **os.environ,
            "OPENROUTER_BASE_URL": upstream_url,
            "PARLEY_CONFIG": str(config),
            **(env or {}),
        },
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    try:
        seen = []
        for line in proc.stderr:  # uvicorn says when it listens; no polling
            seen.append(line)
            # Not "Application startup complete": uvicorn says that before it binds.
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("parley serve exited: " + "".join(seen))
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stderr.close()


POLL_LIMIT_S = 60.0


def probe_get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """GET `path` on a loopback port (the probe port): its status and JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (state another process reports) until it holds; fail after
    POLL_LIMIT_S."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)
