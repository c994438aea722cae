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

from gateway_kit import CHAT, USER, Held, default_models, free_port, parley_serve, probe_get, until
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

# uvicorn exits by the signal it was sent, once it has shut down cleanly.
STOPPED = (0, -signal.SIGTERM)
FUSION_BODY = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}


async def post(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url + "/v1" + CHAT, json=FUSION_BODY) as r:
        return r.status, await r.text()


@contextlib.asynccontextmanager
async def stopped_mid_deliberation(
    home: Path, grace: str, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, subprocess.Popen[str], asyncio.Future[tuple[int, str]], Held]]:
    """`parley serve` sent SIGTERM while a deliberation's panelist is held: its URL,
    process, the deliberation's answer to come, and the panelist."""
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    with (
        ThreadedUpstream(FakeUpstream(models)) as up,
        parley_serve(home, up.base_url, {"PARLEY_SHUTDOWN_GRACE": grace, **(env or {})}) as (
            url,
            proc,
        ),
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


async def test_the_probe_port_says_draining_from_the_signal_on(tmp_path: Path) -> None:
    """uvicorn runs the app's shutdown only once open connections close; a load balancer
    polling /ready on the probe port must stop sending work at the signal, not after."""
    probe = free_port()
    env = {"PARLEY_HEALTH_PORT": str(probe)}
    async with stopped_mid_deliberation(tmp_path, "60", env) as (_url, proc, running, held):
        answers: list[tuple[int, dict[str, object]]] = []

        def says_draining() -> bool:
            answers.append(probe_get(probe, "/ready"))
            return answers[-1][0] == 503

        await asyncio.to_thread(until, says_draining, "/ready on the probe port is 503")
        assert "draining" in str(answers[-1][1])
        assert proc.poll() is None and not running.done()  # the deliberation still runs
        held.release.set()
        status, text = await running
        assert status == 200, text
        assert await asyncio.to_thread(proc.wait, 30) in STOPPED
