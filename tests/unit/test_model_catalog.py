"""What /v1/models says of an upstream's models comes from the upstream's own listing: a
blip when it is first asked is tried again a minute later (not kept until a restart),
and a listing that came is kept for an hour, then asked for again."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from parley.config import load_settings
from parley.gateway.models import CATALOG_RETRY_S, CATALOG_TTL_S, Catalog
from parley.http import new_session
from parley.providers import Router


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_failed_listing_is_tried_again_and_a_good_one_kept_for_a_while() -> None:
    asked: list[int] = []

    async def models(request: web.Request) -> web.Response:
        asked.append(1)
        if len(asked) == 1:
            return web.json_response({"error": {"message": "warming up"}}, status=503)
        return web.json_response(
            {"data": [{"id": "vendor/x", "context_length": 1234 + len(asked)}]}
        )

    app = web.Application()
    app.router.add_get("/api/v1/models", models)
    async with TestServer(app, host="127.0.0.1") as server, new_session() as session:
        env = {
            "OPENROUTER_API_KEY": "sk-or-test",
            "OPENROUTER_BASE_URL": str(server.make_url("/api/v1")),
        }
        clock = Clock()
        catalog = Catalog(Router(load_settings(env=env), session), clock=clock)
        assert await catalog.entry("vendor/x") == {}  # the upstream was not ready
        assert await catalog.entry("vendor/x") == {} and len(asked) == 1  # not asked again
        clock.now += CATALOG_RETRY_S + 1
        assert (await catalog.entry("vendor/x"))["context_length"] == 1236
        clock.now += CATALOG_TTL_S - 10
        assert (await catalog.entry("vendor/x"))["context_length"] == 1236 and len(asked) == 2
        clock.now += 20
        assert (await catalog.entry("vendor/x"))["context_length"] == 1237  # asked again
