"""The web page's routes: the HTML at `/`, `/ui` and `/ui/runs/{id}` (never cached, so it
always names the current assets) and the versioned assets under `/ui/static/` (cached for
a year when asked for by their current version).

The HTML and its assets carry no data, so they load without an API key; the page asks
for the key and sends it with every API call and with the stream, which refuse without
it. A strict Content-Security-Policy means that even text a model wrote into the page
could not run as script: only the page's own files may.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.gateway.errors import error_body
from parley.ui import PREFIX, assets
from parley.wire.sse import json_bytes

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
YEAR = 365 * 24 * 3600


async def page(request: Request) -> Response:
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": CSP, **_SAFE}
    return Response(assets().page, media_type="text/html; charset=utf-8", headers=headers)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    asset = assets().files.get(name)
    if asset is None:
        body = json_bytes(error_body(404, f"no page asset {name!r}", 404))
        return Response(body, 404, media_type="application/json")
    current = request.query_params.get("v") == asset.version
    cache = f"public, max-age={YEAR}, immutable" if current else "no-cache"
    headers = {"Cache-Control": cache, "ETag": asset.etag, **_SAFE}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def routes() -> list[Any]:
    paths = ("/", "/ui", "/ui/", "/ui/runs/{run_id}")
    out: list[Any] = [Route(p, page, methods=["GET"]) for p in paths]
    out.append(Route(PREFIX + "{name}", static, methods=["GET"]))
    return out


def is_open(path: str) -> bool:
    """Whether `path` is the page or one of its assets (loads without an API key)."""
    return path in ("/", "/ui") or path.startswith("/ui/")
