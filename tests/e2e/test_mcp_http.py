"""`/mcp` on `parley serve`, driven by the official MCP client over streamable HTTP: a
deliberation through the gateway, the API keys guarding it, and handles kept per key."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp

from gateway_kit import Gate, default_models, running
from mcp_kit import http_session, structured, text_of

KEYS = ["key-one", "key-two"]
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


async def test_deliberate_over_http_is_complete() -> None:
    async with running() as gw, http_session(gw.url) as s:
        assert "deliberate" in {t.name for t in (await s.list_tools()).tools}
        out = structured(await s.call_tool("deliberate", {"question": "Why is the sky blue?"}))
    assert out["status"] == "complete"
    assert out["answered"] == ["vendor/a", "vendor/b"]
    assert out["synthesis"].startswith("Final answer from 2 panel responses")


async def test_progress_over_http_rises_to_n_plus_two_and_a_bad_argument_is_named() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with running() as gw, http_session(gw.url) as s:
        await s.call_tool("deliberate", {"question": "Why?"}, progress_callback=heard)
        bad = await s.call_tool("deliberate", {"question": "Why?", "deadline_s": "soon"})
    counts = [p for p, _, _ in seen]
    assert all(a < b for a, b in itertools.pairwise(counts)) and counts[-1] == 4
    assert {t for _, t, _ in seen} == {4}
    assert (seen[-1][2] or "") == "analysis finished"
    assert bad.is_error and "deadline_s" in text_of(bad)


async def test_keys_guard_mcp_and_a_handle_is_its_keys_alone() -> None:
    async with running(api_keys=KEYS) as gw:
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                async with http.post(
                    gw.url + "/mcp", json=INIT, headers={**ACCEPT, **headers}
                ) as r:
                    assert r.status == 401
        async with http_session(gw.url, KEYS[0]) as mine:
            did = structured(await mine.call_tool("deliberation_start", {"question": "Why?"}))[
                "deliberation_id"
            ]
            got = {"deliberation_id": did, "wait_s": 30}
            assert structured(await mine.call_tool("deliberation_result", got))["status"] == (
                "complete"
            )
            async with http_session(gw.url, KEYS[1]) as theirs:
                res = await theirs.call_tool("deliberation_result", got)
                assert res.is_error and "deliberation_id" in text_of(res)


async def test_a_member_past_the_deadline_has_its_upstream_call_cancelled() -> None:
    gate = Gate()
    async with running({**default_models(), "vendor/b": gate.model()}) as gw:
        async with http_session(gw.url) as s:
            args = {"question": "Why?", "deadline_s": 1}
            out = structured(await s.call_tool("deliberate", args))
        await asyncio.wait_for(gate.gone.wait(), 10)
        assert gw.upstream.cancelled == 1
    assert out["status"] == "degraded" and out["answered"] == ["vendor/a"]
    assert "deadline" in out["failed_models"][0]["error"]
