"""`parley serve` told to stop (SIGTERM) while a deliberation runs: it stops taking new
connections at once, lets the running deliberation finish and answer in full, then
exits; past `PARLEY_SHUTDOWN_GRACE` it stops waiting.

The panelist runs in the fake upstream's own thread; it says when it has started and
waits to be released (threading events: nothing sleeps).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import aiohttp
import pytest

from gateway_kit import CHAT, USER, default_models, parley_serve
from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

# uvicorn exits by the signal it was sent, once it has shut down cleanly.
STOPPED = (0, -signal.SIGTERM)
FUSION_BODY = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}


class Held:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def model(self) -> FunctionModel:
        async def reply(req: FakeRequest) -> str:
            self.started.set()
            await asyncio.to_thread(self.release.wait, 60)
            return "A: held, then released."

        return FunctionModel(reply)


async def post(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url + "/v1" + CHAT, json=FUSION_BODY) as r:
        return r.status, await r.text()


async def test_a_stopped_server_finishes_the_running_deliberation(tmp_path: Path) -> None:
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    with (
        ThreadedUpstream(FakeUpstream(models)) as up,
        parley_serve(tmp_path, up.base_url, {"PARLEY_SHUTDOWN_GRACE": "60"}) as (url, proc),
    ):
        running = asyncio.ensure_future(post(url))
        assert await asyncio.to_thread(held.started.wait, 30)
        proc.send_signal(signal.SIGTERM)
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
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    with (
        ThreadedUpstream(FakeUpstream(models)) as up,
        parley_serve(tmp_path, up.base_url, {"PARLEY_SHUTDOWN_GRACE": "1"}) as (url, proc),
    ):
        running = asyncio.ensure_future(post(url))
        assert await asyncio.to_thread(held.started.wait, 30)
        proc.send_signal(signal.SIGTERM)
        # Never released: the server gives up on it after the grace period (not the 60 s
        # the panelist would hold it) and tells the client so.
        assert await asyncio.to_thread(proc.wait, 30) in STOPPED
        status, text = await running
        assert status == 503, text  # said in the error shape, not a bare 500
        assert '"reason": "shut_down"' in text
        held.release.set()  # lets the upstream's thread finish
