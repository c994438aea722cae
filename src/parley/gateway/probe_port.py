"""/health and /ready on a port of their own (`gateway.health_port`, PARLEY_HEALTH_PORT,
`parley serve --health-port`), answered from a thread rather than the event loop.

Why a thread: the API's port is served by one event loop, and with hundreds of
deliberations in flight one turn of it can take a few hundred milliseconds (each turn runs
every callback that became ready: upstream chunks, timers, responses). A probe on that port
waits behind the turn. This server reads the same counters from another thread, so it
answers within the interpreter's thread switch interval (5 ms) even then. The loop ticks a
heartbeat each second; a loop that stopped turning makes /health here a 503 (`stalled`),
so a liveness probe still catches a wedged process.

With `parley serve --workers N` every worker binds the port (SO_REUSEPORT) and the kernel
spreads probes among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from parley import _constants as C
from parley.errors import ConfigError
from parley.gateway import health
from parley.gateway.errors import error_body

if TYPE_CHECKING:  # the state holds the probe port: no import at run time
    from parley.gateway.state import GatewayState


class _Server(ThreadingHTTPServer):
    allow_reuse_port = True
    daemon_threads = True
    block_on_close = False


class ProbePort:
    """Serve the probes of `state` on `host`:`port` while the app runs (`start`, `stop`)."""

    def __init__(self, state: GatewayState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._tick = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._server: _Server | None = None

    def stalled_s(self) -> float:
        """Seconds since the event loop last ran its heartbeat, beyond its period."""
        return max(0.0, time.monotonic() - self._tick - C.GATEWAY_LOOP_TICK_S)

    def start(self) -> None:
        try:
            self._server = _Server((self.host, self.port), self._handler())
        except OSError as exc:
            raise ConfigError(
                f"cannot serve /health on {self.host}:{self.port} ({exc.strerror}); "
                "choose another port with PARLEY_HEALTH_PORT or `parley serve --health-port`"
            ) from None
        self.port = self._server.server_address[1]  # port 0: the one the system chose
        self._beat()
        name = f"parley-probes:{self.port}"
        threading.Thread(target=self._server.serve_forever, name=name, daemon=True).start()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ProbePort]:
        """Serve while the block runs (the app's lifespan)."""
        self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    def _beat(self) -> None:
        self._tick = time.monotonic()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(C.GATEWAY_LOOP_TICK_S, self._beat)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        probes = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept-alive connections, as probes reuse them

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/health":
                    self._answer(*health.health(probes.state, stalled_s=probes.stalled_s()))
                elif path == "/ready":
                    self._answer(*health.ready(probes.state))
                else:
                    text = f"no route {path or '/'} on the probe port: GET /health or /ready"
                    self._answer(404, error_body(404, text, 404), {})

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a probe every few seconds is not worth a log line

            def version_string(self) -> str:
                return "parley"

        return Handler
