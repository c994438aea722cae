"""Operations, through real HTTP: `/health` (with the circuit breakers) and `/ready`; a
bound on deliberations in flight (429 with `Retry-After` at once), on the question sent
to a panel (413 naming the setting) and on the time to send a body (408); draining
refuses new work with 503 and `Retry-After` while running work finishes; the probe port
(`gateway.health_port`) answers while the event loop is held up.

Synchronised by events: a panelist says when it has started and waits to be released
(`Held`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from starlette.applications import Starlette

from gateway_kit import CHAT, USER, Held, default_models, settings
from parley import _constants as C
from parley.gateway import create_app, health
from parley.runtime import Setup
from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.server import ServerThread
from parley.testing.upstream import FakeUpstream

FUSION_BODY = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}


@contextlib.asynccontextmanager
async def gateway(
    models: dict[str, Any] | None = None, **limits: Any
) -> AsyncIterator[tuple[str, Starlette]]:
    """The gateway with these `gateway.*` settings: its base URL and its app."""
    async with FakeUpstream(dict(models or default_models())) as up:
        s = settings({**os.environ, "OPENROUTER_BASE_URL": up.base_url})
        s = s.model_copy(update={"gateway": s.gateway.model_copy(update=limits)})
        app = create_app(Setup(settings=s))
        async with ServerThread(app) as url:
            yield url, app


async def get(url: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.json(), dict(r.headers)


async def post(url: str, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.post(url, json=body) as r:
        return r.status, await r.json(), dict(r.headers)


async def test_health_lists_the_breakers_and_ready_says_ready() -> None:
    async with gateway() as (url, _):
        status, body, _ = await get(url + "/ready")
        assert (status, body) == (200, {"status": "ready"})
        status, body, _ = await post(url + "/v1" + CHAT, FUSION_BODY)
        assert status == 200, body
        status, body, _ = await get(url + "/health")
        assert status == 200
        assert body["status"] == "ok"
        assert body["in_flight"] == 0
        # Every model here is behind the OpenRouter provider; its breaker saw only successes.
        assert body["breakers"]["openrouter"]["state"] == "closed"


async def test_past_the_in_flight_bound_a_deliberation_is_429_at_once() -> None:
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    async with gateway(models, max_in_flight=1) as (url, _):
        first = asyncio.ensure_future(post(url + "/v1" + CHAT, FUSION_BODY))
        await held.wait_started()  # the first deliberation is in its panel
        status, body, headers = await post(url + "/v1" + CHAT, FUSION_BODY)
        assert status == 429
        assert headers["Retry-After"] == "1"
        assert body["error"]["code"] == 429
        assert body["error"]["metadata"]["reason"] == "too_many_in_flight"
        assert "PARLEY_MAX_IN_FLIGHT" in body["error"]["message"]
        _, health, _ = await get(url + "/health")
        assert health["in_flight"] == 1
        # A passthrough request is one upstream call, not a deliberation: not refused.
        status, _, _ = await post(url + "/v1" + CHAT, {"model": "vendor/b", "messages": USER})
        assert status == 200
        held.release.set()
        status, body, _ = await first
        assert status == 200, body
        status, body, _ = await post(url + "/v1" + CHAT, FUSION_BODY)  # room again
        assert status == 200, body


async def test_a_question_too_large_for_a_panel_is_413_naming_the_setting() -> None:
    async with gateway(max_question=2000) as (url, _):
        big = {**FUSION_BODY, "messages": [{"role": "user", "content": "x" * 3000}]}
        status, body, _ = await post(url + "/v1" + CHAT, big)
        assert status == 413
        assert body["error"]["param"] == "messages"
        assert "2000 bytes" in body["error"]["message"]
        assert "PARLEY_MAX_QUESTION_BYTES" in body["error"]["message"]
        # The same size without server tools is one upstream call: allowed.
        plain = {"model": "vendor/b", "messages": big["messages"]}
        status, _, _ = await post(url + "/v1" + CHAT, plain)
        assert status == 200
        # And on the Responses API the same bound holds.
        status, body, _ = await post(
            url + "/v1/responses",
            {"model": "vendor/outer", "input": "x" * 3000, "tools": FUSION_BODY["tools"]},
        )
        assert status == 413, body


async def test_a_body_sent_too_slowly_is_408() -> None:
    async with gateway(read_timeout=0.2) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 10)  # the rest never comes
        assert head.startswith(b"HTTP/1.1 408"), head
        writer.close()


async def test_draining_refuses_new_work_and_lets_running_work_finish() -> None:
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    async with gateway(models, shutdown_grace=30) as (url, app):
        first = asyncio.ensure_future(post(url + "/v1" + CHAT, FUSION_BODY))
        await held.wait_started()
        # What the server's stop does first (uvicorn closes its listeners at the same
        # time; an embedding server may not).
        app.state.gateway.admission.draining = True
        status, body, headers = await get(url + "/ready")
        assert status == 503 and headers["Retry-After"] == "1"
        assert body["error"]["metadata"]["reason"] == "draining"
        _, health, _ = await get(url + "/health")
        assert health["status"] == "draining"  # alive, just not taking work
        status, body, headers = await post(url + "/v1" + CHAT, FUSION_BODY)
        assert status == 503 and headers["Retry-After"] == "1"
        assert body["error"]["metadata"]["reason"] == "draining"
        held.release.set()
        status, body, _ = await first  # the deliberation that was running finishes
        assert status == 200, body
        assert body["choices"][0]["message"]["content"] == "Final answer from 2 panel responses."


async def test_the_probe_port_answers_while_the_event_loop_is_held_up() -> None:
    """With `gateway.health_port`, /health and /ready are answered by a process of their
    own: a probe is answered while the API's event loop is stuck in a long stretch of work
    (here a panelist that blocks the loop until released), with the gateway's state as of
    its last snapshot (at most GATEWAY_LOOP_TICK_S old)."""
    started, release = threading.Event(), threading.Event()
    app: Starlette | None = None

    def blocking(req: FakeRequest) -> str:
        # Without this the probe would show the state of the last tick, maybe from
        # before this deliberation was admitted.
        assert app is not None
        app.state.probes.refresh()
        started.set()
        release.wait(30)  # holds the gateway's event loop, as a long synchronous stretch
        return "A: late, but here."

    async with FakeUpstream(default_models()) as up:
        s = settings({**os.environ, "OPENROUTER_BASE_URL": up.base_url})
        s = s.model_copy(update={"gateway": s.gateway.model_copy(update={"health_port": 0})})
        app = create_app(Setup(settings=s, models={"vendor/a": FunctionModel(blocking)}))
        async with ServerThread(app) as url:
            probes = f"http://127.0.0.1:{app.state.probes.port}"
            # The probe hears the gateway by snapshots, up to one tick behind its start.
            for _ in range(200):
                if (await get(probes + "/ready"))[:2] == (200, {"status": "ready"}):
                    break
                await asyncio.sleep(C.GATEWAY_LOOP_TICK_S / 5)
            else:
                raise AssertionError("the probe port never said ready")
            answer = asyncio.ensure_future(post(url + "/v1" + CHAT, FUSION_BODY))
            try:
                assert await asyncio.to_thread(started.wait, 30), "the panelist was not called"
                for _ in range(3):  # the loop stays held while the probe answers, each time
                    status, body, _ = await get(probes + "/health")
                    assert status == 200
                    assert (body["status"], body["in_flight"]) == ("ok", 1)
            finally:
                release.set()
            status, body, _ = await answer
            assert status == 200, body
            status, body, _ = await get(probes + "/metrics")
            assert status == 404
            assert "/health" in body["error"]["message"]


def test_a_stalled_event_loop_fails_the_probe_ports_liveness() -> None:
    """The probe port answers for a loop it does not run on, so it also reports one that
    stopped turning: a 503 a liveness probe restarts the process on."""
    app = create_app(Setup(settings=settings({})))
    status, body, _ = health.health(app.state.gateway, stalled_s=C.GATEWAY_LOOP_STALL_S + 1)
    assert status == 503
    assert body["error"]["metadata"]["reason"] == "stalled"
    assert "restart" in body["error"]["message"]
