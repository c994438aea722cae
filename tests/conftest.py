"""Shared fixtures: an isolated user directory, fake models, and loopback upstreams."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli_kit import any_model, cli_env
from parley import FunctionModel, Parley
from parley.config import load_settings
from parley.testing import ANALYSIS
from parley.testing.models import FakeRequest
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """No real keys, config or user data leak into a test, and nothing leaks out."""
    isolate(monkeypatch, tmp_path)
    yield {"tmp": str(tmp_path)}


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What `isolated_env` does, for a fixture wider than one test (it runs before any
    function-scoped fixture does): no real keys, config or user data."""
    for var in (
        "OPENROUTER_API_KEY",
        "OPENAI_API_KEY",
        "OPENROUTER_BASE_URL",
        "OPENAI_BASE_URL",
        "PARLEY_MODEL",
        "PARLEY_JUDGE",
        "PARLEY_PANEL",
        "PARLEY_PRESET",
        "PARLEY_UPSTREAM_TIMEOUT",
        "PARLEY_API_KEYS",
        # web tools: no real search service or opened private network leaks in
        "SEARXNG_URL",
        "BRAVE_API_KEY",
        "TAVILY_API_KEY",
        "EXA_API_KEY",
        "PARLEY_SEARCH",
        "PARLEY_SEARCH_DIR",
        "PARLEY_ALLOW_PRIVATE_URLS",
        "PARLEY_WEB_FETCH",
        "BRAVE_BASE_URL",
        "TAVILY_BASE_URL",
        "EXA_BASE_URL",
        "PARLEY_MAX_BODY_BYTES",
        "PARLEY_MAX_IN_FLIGHT",
        "PARLEY_MAX_QUESTION_BYTES",
        "PARLEY_READ_TIMEOUT",
        "PARLEY_SHUTDOWN_GRACE",
        "PARLEY_DEBUG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PARLEY_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("PARLEY_KEYS", str(tmp_path / "keys.json"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # platformdirs ignores XDG_* on macOS: name the log file outright.
    monkeypatch.setenv("PARLEY_LOG_DB", str(tmp_path / "data" / "log.db"))


def judge_fn(analysis: dict[str, Any] | None = None) -> FunctionModel:
    payload = json.dumps(analysis or ANALYSIS)
    return FunctionModel(lambda req: payload, name="judge")


def answer_fn(text: str) -> FunctionModel:
    return FunctionModel(lambda req: text)


def outer_fn() -> FunctionModel:
    """An outer model that calls fusion when offered it, then answers from the result."""

    def reply(req: FakeRequest) -> Any:
        from parley import tool_call

        if "fusion" in req.tools and not req.tool_results:
            return tool_call("fusion", {"question": req.last_user})
        result = json.loads(req.tool_results[-1]) if req.tool_results else {}
        n = len(result.get("responses", []))
        return f"Final answer from {n} panel responses."

    return FunctionModel(reply, name="outer")


@pytest.fixture
def models() -> dict[str, FunctionModel]:
    return {
        "vendor/a": answer_fn("A: Rayleigh scattering makes the sky blue."),
        "vendor/b": answer_fn("B: Shorter wavelengths scatter more, so the sky is blue."),
        "vendor/judge": judge_fn(),
        "vendor/outer": outer_fn(),
    }


@pytest.fixture
async def parley_client(models: dict[str, FunctionModel]) -> AsyncIterator[Parley]:
    settings = load_settings(overrides={"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge"})
    async with Parley(settings=settings, models=models) as p:
        yield p


@pytest.fixture
async def upstream(models: dict[str, FunctionModel]) -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(models) as up:
        yield up


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach beyond loopback fails the test loudly."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise RuntimeError(f"test tried to reach {host}: tests are loopback only")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def up() -> Iterator[FakeUpstream]:
    """A fake OpenRouter in a thread, answering every model id, for CLI tests."""
    with ThreadedUpstream(FakeUpstream(default=any_model())) as upstream:
        yield upstream


@pytest.fixture
def runner(up: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """click's runner with the environment aimed at `up`."""
    for key, value in cli_env(up.base_url).items():
        monkeypatch.setenv(key, value)
    return CliRunner()
