"""`parley serve` told to stop (SIGTERM) while a deliberation runs: it stops taking new
connections at once, lets the running deliberation finish and answer in full, then
exits; past `PARLEY_SHUTDOWN_GRACE` it stops waiting.

The panelist (`Held`) runs in the fake upstream's own thread; it says when it has
started and waits to be released (threading events: nothing sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway_kit import CHAT, USER, Held, default_models, parley_serve
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

# uvicorn exits by the signal it was sent, once it has shut down cleanly.
STOPPED = (0, -signal.SIGTERM)
FUSION_BODY = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}


async def post(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url + "/v1" + CHAT, json=FUSION_BODY) as r:
        return r.status, await r.text()


@contextlib.asynccontextmanager
async def stopped_mid_deliberation(
    home: Path, grace: str
) -> AsyncIterator[tuple[str, subprocess.Popen[str], asyncio.Future[tuple[int, str]], Held]]:
    """`parley serve` sent SIGTERM while a deliberation's panelist is held: its URL,
    process, the deliberation's answer to come, and the panelist."""
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    with (
        ThreadedUpstream(FakeUpstream(models)) as up,
        parley_serve(home, up.base_url, {"PARLEY_SHUTDOWN_GRACE": grace}) as (url, proc),
    ):
        running = asyncio.ensure_future(post(url))
        try:
            await held.wait_started()
            proc.send_signal(signal.SIGTERM)
            yield url, proc, running, held
        finally:
            held.release.set()  # lets the upstream's thread finish


async def test_a_stopped_server_finishes_the_running_deliberation(tmp_path: Path) -> None:
    async with stopped_mid_deliberation(tmp_path, "60") as (url, proc, running, held):
        assert proc.stderr is not None
        while "Waiting for connections to close" not in await asyncio.to_thread(
            proc.stderr.readline
        ):
            pass
        with pytest.raises(aiohttp.ClientConnectionError):  # no new work is taken
            await post(url)
        held.release.set()
        status, text = await running
        assert status == 200, text
        assert "Final answer from 2 panel responses." in text
        assert await asyncio.to_thread(proc.wait, 30) in STOPPED


async def test_past_the_grace_period_the_server_stops_waiting(tmp_path: Path) -> None:
    async with stopped_mid_deliberation(tmp_path, "1") as (_, proc, running, _held):
        # Never released: the server gives up on it after the grace period (not the 60 s
        # the panelist would hold it) and tells the client so.
        assert await asyncio.to_thread(proc.wait, 30) in STOPPED
        status, text = await running
        assert status == 503, text  # said in the error shape, not a bare 500
        assert '"reason": "shut_down"' in text
