"""`/mcp` on `parley serve`: the MCP server as streamable HTTP routes for the gateway's
app, and the session manager its lifespan must run. The gateway's API-key middleware
wraps these routes like every other; the Host allowlist comes from the config."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute

from parley.config import Settings
from parley.mcp.server import build_server
from parley.runtime import Setup
from parley.store import LogStore

PATH = "/mcp"


def mcp_routes(
    settings: Settings, store: LogStore | None, setup: Setup | None = None
) -> tuple[list[BaseRoute], Callable[[], AbstractAsyncContextManager[Any]]]:
    """The `/mcp` routes, and what to run for as long as the app serves them."""
    server = build_server(settings, store, setup)
    hosts = settings.gateway.mcp_hosts
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)
    app = server.streamable_http_app(streamable_http_path=PATH, transport_security=security)
    return list(app.routes), server.session_manager.run
