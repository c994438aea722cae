"""The gateway's upstream pool grows with the deliberations it admits, so admitted work
does not queue behind a fixed pool, and never past what the process's file limit allows;
a wait for the pool is Parley's overload, never held against the provider."""

from __future__ import annotations

import asyncio
import json
import resource

import pytest

from parley import _constants as C
from parley.config import load_settings
from parley.errors import Overloaded
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
