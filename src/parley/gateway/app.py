"""The gateway's Starlette app: routes, the API-key check, and one HTTP session per process.

    uvicorn --factory parley.gateway.app:create_app        # what `parley serve` runs

Everything is built at startup inside the server's event loop: the aiohttp session (one per
process, shared by every upstream call) and the Runtime around it. Tests and embedders
pass `settings`, `models`, `search`, `fetcher`, or a ready `runtime`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parley import _constants as C
from parley.config import Settings, load_settings
from parley.errors import ConfigError
from parley.gateway.auth import ApiKeyMiddleware, load_api_keys
from parley.gateway.chat import ChatEndpoint
from parley.gateway.errors import error_body
from parley.gateway.log import GatewayLog
from parley.gateway.models import find, listing
from parley.http import new_session
from parley.models.base import ChatModel
from parley.redact import Redactor, install_log_filter
from parley.runtime import Runtime
from parley.store import LogStore, log_path
from parley.tools.web import Fetcher, SearchBackend

MAX_BODY_ENV = "PARLEY_MAX_BODY_BYTES"


class GatewayState:
    """What every request reads: the Runtime (set at startup) and the limits."""

    def __init__(
        self,
        *,
        settings: Settings | None,
        env: Mapping[str, str] | None,
        models: Mapping[str, ChatModel] | None,
        search: SearchBackend | None,
        fetcher: Fetcher | None,
        runtime: Runtime | None,
        max_body: int,
        heartbeat_s: float,
        log_store: LogStore | None = None,
        api_keys: list[str] | None = None,
    ) -> None:
        self.settings = settings or (runtime.settings if runtime else load_settings(env))
        self.env = env
        self.models = models
        self.search = search
        self.fetcher = fetcher
        self._runtime = runtime
        self.max_body = max_body
        self.heartbeat_s = heartbeat_s
        self.api_keys = list(api_keys or [])
        self._redactor: Redactor | None = None
        if log_store is None and self.settings.log_gateway:
            log_store = LogStore(log_path(env))
        self.log = GatewayLog(log_store) if log_store is not None else None

    @property
    def redactor(self) -> Redactor:
        """Masks every credential the gateway holds: the providers' and its own API keys."""
        return self._redactor or Redactor(self.api_keys)

    def _start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._redactor = runtime.redactor.with_secrets(self.api_keys)
        if self.log is not None:
            self.log.store.redactor = self._redactor
        install_log_filter(self._redactor)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the gateway has not started: run it under an ASGI server")
        return self._runtime

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self._runtime is not None:  # injected: its owner manages its session
            self._start(self._runtime)
            yield
            return
        session = new_session()
        runtime = Runtime.create(
            session=session,
            settings=self.settings,
            env=self.env,
            models=self.models,
            search=self.search,
            fetcher=self.fetcher,
        )
        self._start(runtime)
        try:
            yield
        finally:
            self._runtime = None
            self._redactor = None
            await session.close()


def _max_body_from_env(env: Mapping[str, str]) -> int:
    raw = env.get(MAX_BODY_ENV)
    if not raw:
        return C.GATEWAY_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{MAX_BODY_ENV}={raw!r} must be a positive number of bytes")
    return int(raw)


def create_app(
    *,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
    models: Mapping[str, ChatModel] | None = None,
    search: SearchBackend | None = None,
    fetcher: Fetcher | None = None,
    runtime: Runtime | None = None,
    api_keys: list[str] | None = None,
    max_body: int | None = None,
    heartbeat_s: float = C.GATEWAY_HEARTBEAT_S,
    log_store: LogStore | None = None,
) -> Starlette:
    """The gateway app. API keys default to `PARLEY_API_KEYS`; none means no check.

    Requests that ran fusion are logged to `log_store`, or to the default log when the
    settings say `log_gateway = true`; otherwise nothing is kept.
    """
    environ = os.environ if env is None else env
    keys = load_api_keys(environ) if api_keys is None else api_keys
    state = GatewayState(
        settings=settings,
        env=env,
        models=models,
        search=search,
        fetcher=fetcher,
        runtime=runtime,
        max_body=max_body or _max_body_from_env(environ),
        heartbeat_s=heartbeat_s,
        log_store=log_store,
        api_keys=keys,
    )
    chat_endpoint = ChatEndpoint(state)

    async def models_endpoint(request: Request) -> Response:
        return JSONResponse(listing(state.runtime))

    async def model_endpoint(request: Request) -> Response:
        model_id = request.path_params["model_id"].removesuffix("/")
        found = find(state.runtime, model_id)
        if found is None:
            message = f"model {model_id!r} is not listed; see GET /v1/models"
            return JSONResponse(error_body(404, message, "model_not_found", "model"), 404)
        return JSONResponse(found)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # Each path also answers with a trailing slash, as the route itself: Starlette's own
    # redirect would build its Location from the client's Host header (an open redirect).
    routes = [Route(p, health, methods=["GET"]) for p in ("/health", "/health/")]
    for prefix in ("/v1", "/api/v1"):
        for slash in ("", "/"):
            routes += [
                Route(f"{prefix}/chat/completions{slash}", chat_endpoint, methods=["POST"]),
                Route(f"{prefix}/models{slash}", models_endpoint, methods=["GET"]),
            ]
        routes.append(Route(f"{prefix}/models/{{model_id:path}}", model_endpoint, methods=["GET"]))
    middleware = [Middleware(ApiKeyMiddleware, keys=keys)] if keys else []
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=state.lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.router.redirect_slashes = False
    app.state.gateway = state
    return app


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
