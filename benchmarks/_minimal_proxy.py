"""The floor for a Python hop: Starlette + one shared aiohttp session, no validation.

    python benchmarks/_minimal_proxy.py PORT UPSTREAM_BASE_URL

Reads the body, posts it to the upstream as it came, returns the upstream's bytes. No
routing, no auth, no limits, no error shaping: what any gateway must at least do.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM = sys.argv[2].rstrip("/") + "/chat/completions"
session: aiohttp.ClientSession | None = None


async def chat(request: Request) -> Response:
    assert session is not None
    body = await request.body()
    async with session.post(
        UPSTREAM, data=body, headers={"Content-Type": "application/json"}
    ) as resp:
        data = await resp.read()
        return Response(data, resp.status, media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global session
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
    yield
    await session.close()


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
