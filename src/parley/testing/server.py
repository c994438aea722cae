"""Run the gateway (or any ASGI app) under uvicorn on a loopback port, in a thread.

    with ServerThread(create_app(models=...)) as base_url:    # "http://127.0.0.1:PORT"
        OpenAI(base_url=base_url + "/v1", api_key="x")

For tests, demos and benchmarks; the server is the real one, only the thread is extra.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import uvicorn

from parley.gateway.asgi import ASGIApp


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._started.set()


class ServerThread:
    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", start_timeout: float = 30.0):
        self.app = app
        self.host = host
        self.start_timeout = start_timeout
        self._started = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="on", log_level="warning", access_log=False, loop="asyncio"
        )
        self.server = _Server(config, self._started)
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self._sock]))

    def __enter__(self) -> str:
        self._thread.start()
        if not self._started.wait(self.start_timeout) or not self._thread.is_alive():
            self.server.should_exit = True
            raise RuntimeError("the gateway did not start; its log says why")
        return self.base_url

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self._thread.join(self.start_timeout)
        self._sock.close()

    # From async code, wait in a worker thread: a fake upstream on the caller's loop must
    # keep serving while the gateway starts and drains.
    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.__exit__, t, e, tb)
