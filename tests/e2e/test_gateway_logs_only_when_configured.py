"""The gateway logs fusion requests when configured to (`log_gateway = true`), and only then."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway_kit import USER, default_models, post, serving, sse_events
from parley.config import load_settings
from parley.runtime import Setup
from parley.store import LogStore
from parley.testing.upstream import FakeUpstream

CHAT = "/v1/chat/completions"
FUSION = [{"type": "openrouter:fusion", "parameters": {"model": "vendor/judge"}}]


@contextlib.asynccontextmanager
async def gateway(
    db: Path, config: str | None, home: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    async with FakeUpstream(default_models()) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url, "PARLEY_LOG_DB": str(db)}
        env.update(extra_env or {})
        if config is not None:
            path = home / "config.toml"
            path.write_text(config)
            env["PARLEY_CONFIG"] = str(path)
        settings = load_settings(env, overrides={"panel": ["vendor/a", "vendor/b"]})
        async with serving(Setup(settings=settings)) as url:
            yield url


def body(**kw: Any) -> dict[str, Any]:
    return {
        "model": "vendor/outer",
        "messages": [{"role": "system", "content": "Be brief."}, *USER],
        "tools": FUSION,
        **kw,
    }


async def test_gateway_logs_fusion_requests_when_configured(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    async with gateway(db, "log_gateway = true\n", tmp_path) as url:
        status, data = await post(url + CHAT, body())
        assert status == 200, data
        events = await sse_events(url + CHAT, body(stream=True))
        assert events[-1] == "data: [DONE]"
        # a request without fusion is not an exchange worth keeping
        status, _ = await post(url + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 200
    entries = LogStore(db).recent(10)
    assert len(entries) == 2
    for e in entries:
        full = LogStore(db).get(e.id)
        assert full.source == "gateway"
        assert full.question == "Why is the sky blue?"
        assert full.system == "Be brief."
        assert full.model == "vendor/outer"
        assert full.answer == "Final answer from 2 panel responses."
        (d,) = full.deliberations
        assert [r.model for r in d.responses] == ["vendor/a", "vendor/b"]
        assert d.analysis is not None
        assert full.usage["total_tokens"] > 0


async def test_the_gateway_log_masks_a_key_the_server_holds(tmp_path: Path) -> None:
    """A client quoting the server's own provider key finds it masked in the default log
    the gateway opens, as in every response (the log database's bytes hold no copy)."""
    db, key = tmp_path / "logs.db", "sk-or-v1-gateway-log-secret-4c1d9e"
    quoted = [{"role": "user", "content": f"Is {key} a valid key? Why is the sky blue?"}]
    async with gateway(db, "log_gateway = true\n", tmp_path, {"OPENROUTER_API_KEY": key}) as url:
        status, data = await post(url + CHAT, {**body(), "messages": quoted})
        assert status == 200, data
        assert key not in str(data)
    (entry,) = LogStore(db).recent(10)
    assert key not in (LogStore(db).get(entry.id).question or "")
    assert not any(key.encode() in data for data in log_files(tmp_path))


def log_files(folder: Path) -> list[bytes]:
    """The log database's bytes, its write-ahead log's too."""
    return [path.read_bytes() for path in folder.glob("logs.db*")]


async def test_gateway_does_not_log_by_default(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    async with gateway(db, None, tmp_path) as url:
        status, data = await post(url + CHAT, body())
        assert status == 200, data
    assert not db.exists()


async def test_an_unwritable_log_costs_nothing_but_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "not-a-dir"
    db.write_text("a file where the log's directory should be")
    async with gateway(db / "logs.db", "log_gateway = true\n", tmp_path) as url:
        status, data = await post(url + CHAT, body())
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "Final answer from 2 panel responses."
    assert any("not logged" in r.getMessage() for r in caplog.records)
