"""A small ASGI client over `app(scope, receive, send)`: the gateway in-process, without a
socket or a server thread, for tests that send hundreds of requests (the fuzz tests).

It speaks the ASGI protocol as uvicorn does: lifespan startup and shutdown around the
requests, the body in one `http.request` message, and `http.disconnect` only once the
response is complete (the gateway watches for it to cancel abandoned work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from parley.gateway.asgi import ASGIApp, Message


@dataclass
class Reply:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class AsgiClient:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiClient:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.startup.complete", msg
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._lifespan is not None
        await self._to_app.put({"type": "lifespan.shutdown"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.shutdown.complete", msg
        await self._lifespan

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> Reply:
        reply = Reply()
        finished = asyncio.Event()
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(msg: Message) -> None:
            assert not finished.is_set(), f"sent after the response ended: {msg}"
            if msg["type"] == "http.response.start":
                assert reply.status == 0, "response started twice"
                reply.status = msg["status"]
                reply.headers = [(bytes(k), bytes(v)) for k, v in msg.get("headers", [])]
            elif msg["type"] == "http.response.body":
                assert reply.status, "body before the response started"
                reply.body += msg.get("body", b"")
                if not msg.get("more_body", False):
                    finished.set()

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in headers],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await self.app(scope, receive, send)
        assert finished.is_set(), "the app returned without finishing its response"
        return reply
