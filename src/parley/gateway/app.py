"""The gateway's Starlette app: routes, the API-key check, and one HTTP session per process.

    uvicorn --factory parley.gateway.app:create_app        # what `parley serve` runs

Everything is built at startup inside the server's event loop (`GatewayState.lifespan`):
the aiohttp session (one per process, shared by every upstream call) and the Runtime
around it. Tests and embedders pass a `Setup` (settings, models, search, fetcher), or a
ready `runtime`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parley import _constants as C
from parley.config import Settings, load_settings
from parley.gateway import history, openapi, page
from parley.gateway.admission import draining_on_signal
from parley.gateway.auth import ApiKeyMiddleware
from parley.gateway.chat import ChatEndpoint
from parley.gateway.deliberations import CancelEndpoint, DeliberationsEndpoint, Running
from parley.gateway.errors import error_body
from parley.gateway.health import routes as probes
from parley.gateway.metrics import Counted
from parley.gateway.models import find, listing
from parley.gateway.probe_port import ProbePort
from parley.gateway.responses import ResponsesEndpoint
from parley.gateway.state import GatewayState
from parley.mcp import sdk
from parley.providers import Router
from parley.runtime import Runtime, Setup
from parley.store import LogStore


def create_app(
    setup: Setup | None = None,
    *,
    runtime: Runtime | None = None,
    api_keys: list[str] | None = None,
    max_body: int | None = None,
    heartbeat_s: float = C.GATEWAY_HEARTBEAT_S,
    log_store: LogStore | None = None,
) -> Starlette:
    """The gateway app, over a runtime built from `setup` at startup (or the `runtime`
    given). API keys default to the settings' (`PARLEY_API_KEYS`); none means no check.

    Requests that ran fusion are logged to `log_store`, or to the default log when the
    settings say `log_gateway = true`; otherwise nothing is kept.
    """
    setup = setup or Setup()
    settings = runtime.settings if runtime is not None else setup.settings or load_settings()
    setup = dataclasses.replace(setup, settings=settings)
    keys = settings.api_keys if api_keys is None else api_keys
    if log_store is None and settings.log_gateway:
        # Masked like the CLI's: an upstream's or a client's text quoting a key the
        # server holds must not be kept in the log database.
        log_store = LogStore(settings.log_path(), redactor=Router(settings, None).redactor)
    state = GatewayState(
        setup,
        runtime=runtime,
        api_keys=keys,
        max_body=max_body or settings.gateway.max_body,
        heartbeat_s=heartbeat_s,
        log_store=log_store,
    )
    chat_endpoint = ChatEndpoint(state)
    responses_endpoint = ResponsesEndpoint(state)

    async def models_endpoint(request: Request) -> Response:
        assert state.catalog is not None
        return JSONResponse(await listing(state.runtime, state.catalog))

    async def model_endpoint(request: Request) -> Response:
        model_id = request.path_params["model_id"].removesuffix("/")
        assert state.catalog is not None
        found = await find(state.runtime, state.catalog, model_id)
        if found is None:
            message = f"model {model_id!r} is not listed; see GET /v1/models"
            return JSONResponse(error_body(404, message, "model_not_found", "model"), 404)
        return JSONResponse(found)

    # Each path also answers with a trailing slash, as the route itself: Starlette's own
    # redirect would build its Location from the client's Host header (an open redirect).
    async def metrics_endpoint(request: Request) -> Response:
        body = generate_latest(state.metrics.registry)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def openapi_endpoint(request: Request) -> Response:
        return JSONResponse(openapi.document())

    health, ready = probes(state)
    routes = [Route(p, health, methods=["GET"]) for p in ("/health", "/health/")]
    routes += [Route(p, ready, methods=["GET"]) for p in ("/ready", "/ready/")]
    for prefix in ("/v1", "/api/v1"):
        for slash in ("", "/"):
            routes += [
                Route(f"{prefix}/chat/completions{slash}", chat_endpoint, methods=["POST"]),
                Route(f"{prefix}/responses{slash}", responses_endpoint, methods=["POST"]),
                Route(f"{prefix}/models{slash}", models_endpoint, methods=["GET"]),
            ]
        routes.append(Route(f"{prefix}/models/{{model_id:path}}", model_endpoint, methods=["GET"]))
    mcp_routes, mcp_run = _mcp(setup, settings, log_store)
    routes += mcp_routes
    routes += [Route(p, metrics_endpoint, methods=["GET"]) for p in ("/metrics", "/metrics/")]
    routes += [Route(p, openapi_endpoint, methods=["GET"]) for p in ("/openapi.json",)]
    routes += _page_routes(state)

    limits = settings.gateway
    probe_port = None
    if limits.health_port is not None:
        probe_port = ProbePort(state, limits.health_host, limits.health_port)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        # The probe port first: while the runtime is built, its /ready says `starting`.
        async with (
            probe_port.serving() if probe_port else contextlib.nullcontext(),
            state.lifespan(app),
            mcp_run(),
        ):
            if probe_port is not None:
                probe_port.refresh()  # started: ready from now on
            with draining_on_signal(state.admission):
                yield

    # Outermost, so that refusals (401) are counted too.
    middleware = [Middleware(Counted, metrics=state.metrics, routes=routes)]
    middleware += [Middleware(ApiKeyMiddleware, keys=keys)] if keys else []
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.router.redirect_slashes = False
    app.state.gateway = state
    app.state.probes = probe_port  # its `port` is the one bound (with port 0, any free)
    return app


def _page_routes(state: GatewayState) -> list[Any]:
    """The web page, and the API it reads: the live stream, cancel, history, choices."""
    running = Running()
    choices, past, one = history.routes(state)
    deliberate = DeliberationsEndpoint(state, running)
    return [
        Route("/v1/deliberations", deliberate, methods=["POST"]),
        Route("/v1/deliberations/cancel", CancelEndpoint(state, running), methods=["POST"]),
        Route("/v1/deliberations", past, methods=["GET"]),
        Route("/v1/deliberations/{run_id}", one, methods=["GET"]),
        Route("/v1/choices", choices, methods=["GET"]),
        *page.routes(),
    ]


def _mcp(setup: Setup, settings: Settings, store: LogStore | None) -> tuple[list[Any], Any]:
    """`/mcp` when the `mcp` extra is installed; without it, a 404 that names the extra."""
    if importlib.util.find_spec("mcp") is None:

        async def missing(request: Request) -> Response:
            text = f"/mcp needs the `mcp` extra on the server: {sdk.INSTALL_HINT}"
            return JSONResponse(error_body(404, text, 404), 404)

        return [Route("/mcp", missing)], contextlib.nullcontext
    from parley.mcp.http import mcp_routes  # needs the extra, checked just above

    return mcp_routes(settings, store, setup)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {
        404: f"no route {request.url.path}; see GET /v1/models and POST /v1/chat/completions",
        405: f"method {request.method} is not allowed here",
    }
    text = message.get(exc.status_code, exc.detail)
    return JSONResponse(
        error_body(exc.status_code, text, exc.status_code), exc.status_code, headers=exc.headers
    )
