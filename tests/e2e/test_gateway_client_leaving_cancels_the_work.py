"""A client that hangs up stops the upstream work it started (passthrough, streamed or
not, and a fusion panel), and nothing more; while the panel works, a streamed answer
keeps the connection alive with heartbeats.

Synchronised by events (`Gate`): the upstream says when a call has started and when it
was cancelled; nothing sleeps.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from gateway_kit import CHAT, USER, Gate, default_models, running

FUSION = [{"type": "openrouter:fusion"}]


@pytest.mark.parametrize(
    ("body", "slow"),
    [
        ({"model": "vendor/slow", "messages": USER}, ["vendor/slow"]),
        ({"model": "vendor/slow", "messages": USER, "stream": True}, ["vendor/slow"]),
        ({"model": "openrouter/fusion", "messages": USER}, ["vendor/a", "vendor/b"]),
    ],
    ids=["passthrough", "streamed passthrough", "fusion panel"],
)
async def test_a_client_hanging_up_cancels_the_upstream_calls(
    body: dict[str, Any], slow: list[str]
) -> None:
    gate = Gate(expected=len(slow))
    models = {**default_models(), **{m: gate.model() for m in slow}}
    async with running(models) as gw:
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(s.post(gw.v1 + CHAT, json=body))
            await gate.started.wait()  # every slow call is inside its upstream
            req.cancel()  # the client hangs up
            await asyncio.gather(req, return_exceptions=True)
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == len(slow)
        assert gw.upstream.in_flight == 0


async def test_heartbeats_continue_while_the_panel_works_and_leaving_cancels_it() -> None:
    gate = Gate(expected=2)
    models = {**default_models(), "vendor/a": gate.model(), "vendor/b": gate.model()}
    async with running(models, heartbeat_s=0.01) as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": FUSION, "stream": True}
        async with aiohttp.ClientSession() as s:
            resp = await s.post(gw.v1 + CHAT, json=body)
            await gate.started.wait()  # both panelists are inside their upstream calls
            beats = 0
            while beats < 5:  # idle heartbeats keep coming while nothing else is written
                line = await resp.content.readline()
                assert line.strip() in (b": OPENROUTER PROCESSING", b"")
                beats += line.startswith(b":")
            resp.close()  # the client leaves mid-stream
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 2
        assert gw.upstream.in_flight == 0
        assert gw.calls("vendor/judge") == 0
