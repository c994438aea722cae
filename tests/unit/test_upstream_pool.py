"""The gateway's upstream pool grows with the deliberations it admits, so admitted work
does not queue behind a fixed pool, and never past what the process's file limit allows;
a wait for the pool, or a timeout while its own event loop ran late, is Parley's overload,
never held against the provider."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from typing import Any

import pytest

from parley import _constants as C
from parley.config import load_settings
from parley.errors import Overloaded, UpstreamTimeout
from parley.gateway.errors import from_exception
from parley.http import new_session, pool_for
from parley.models.base import Turn
from parley.providers import Router
from parley.testing.upstream import FakeUpstream, RawModel, RawReply, Recorded
from parley.wire.chat_response import response_of_turn

MODEL = "vendor/m"


def test_the_pool_follows_the_admission_bound() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert pool_for(1) == min(C.HTTP_POOL_LIMIT_PER_HOST, max(64, soft // 2))
    if soft == resource.RLIM_INFINITY or soft >= 2 * 4 * 1000:
        assert pool_for(1000) == 1000 * C.POOL_PER_DELIBERATION


def test_the_pool_leaves_file_descriptors_for_clients() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY:
        assert pool_for(10**6) <= max(64, soft // 2)


async def test_waiting_for_a_full_pool_is_parleys_overload_not_the_providers_fault() -> None:
    """A call that finds every pooled connection busy waits at most the pool timeout, then
    fails as Parley's own overload (503 `overloaded`, naming its setting): nothing is sent,
    it is not retried, and the provider's circuit breaker does not count it. Once a
    connection is free, calls go through again."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def answer(request: Recorded) -> RawReply:
        arrived.set()
        await release.wait()
        return RawReply(
            json.dumps(response_of_turn(Turn(content="done", finish_reason="stop"), MODEL)).encode()
        )

    model = RawModel(answer)
    env = {"OPENROUTER_BASE_URL": "", "PARLEY_UPSTREAM_POOL_TIMEOUT": "0.05"}
    async with FakeUpstream({MODEL: model}) as up, new_session(limit=1, per_host=1) as session:
        env["OPENROUTER_BASE_URL"] = up.base_url
        router = Router(load_settings(env), session)
        body = {"messages": [{"role": "user", "content": "hi"}]}
        first = asyncio.create_task(router.resolve(MODEL).complete(body, {}))
        await arrived.wait()  # the only connection is now in use
        with pytest.raises(Overloaded) as caught:
            await router.resolve(MODEL).complete(body, {})
        assert caught.value.status_code == 503
        assert "PARLEY_UPSTREAM_POOL_TIMEOUT" in caught.value.message
        assert from_exception(caught.value)[1]["error"]["metadata"]["reason"] == "overloaded"
        for _ in range(10):  # enough failures to open the breaker, if it counted them
            with pytest.raises(Overloaded):
                await router.resolve(MODEL).complete(body, {})
        assert len(model.requests) == 1  # the overloaded calls sent nothing
        assert router.breakers["openrouter"].state == "closed"
        release.set()
        assert (await first).content == "done"
        assert (await router.resolve(MODEL).complete(body, {})).content == "done"
        assert router.breakers["openrouter"].state == "closed"


async def test_a_timeout_while_our_event_loop_ran_late_is_not_held_against_the_provider() -> None:
    """A response can sit unread while a saturated event loop runs other work, and its
    timer then fires: that timeout is Parley's overload. With the loop on time, a timeout
    counts against the provider's breaker; with the loop held up past the excuse bound,
    the same timeout does not."""
    arrived = asyncio.Event()

    async def never(request: Recorded) -> RawReply:
        arrived.set()
        await asyncio.Event().wait()  # the upstream never answers
        raise AssertionError

    env = {"PARLEY_UPSTREAM_FIRST_BYTE_TIMEOUT": "0.2", "PARLEY_UPSTREAM_RETRIES": "0"}
    body = {"messages": [{"role": "user", "content": "hi"}]}
    async with FakeUpstream({MODEL: RawModel(never)}) as up, new_session() as session:
        settings = load_settings({**env, "OPENROUTER_BASE_URL": up.base_url})

        def fresh() -> tuple[Any, Any]:
            router = Router(settings, session)
            model = router.resolve(MODEL)
            breaker = router.breakers["openrouter"]
            breaker.min_calls = 1  # one counted failure opens it
            return model, breaker

        model, breaker = fresh()  # the loop on time: the provider is blamed
        with pytest.raises(UpstreamTimeout):
            await anext(aiter(model.stream(body, {})))
        assert breaker.state == "open"

        model, breaker = fresh()
        arrived.clear()
        call = asyncio.ensure_future(anext(aiter(model.stream(body, {}))))
        await arrived.wait()
        # The loop is held up (a long synchronous stretch) while the call's timer runs out.
        time.sleep(C.LOOP_LAG_EXCUSE_S + 0.3)  # noqa: ASYNC251 (blocking is the point)
        with pytest.raises(UpstreamTimeout):
            await call
        assert breaker.state == "closed"
