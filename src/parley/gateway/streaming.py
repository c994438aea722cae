"""One streamed response: headers sent once, bytes as they come, errors in the right form.

Before the first byte an error is an ordinary error response with its status; after it,
the status line is gone, so the error travels as a data event (contract section 7). A
client that leaves cancels the producer, and with it every upstream call it started.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from parley.gateway import sse
from parley.gateway.asgi import ClientGone, Receive, Send, send_bytes, send_error, until_disconnect
from parley.gateway.errors import from_exception


class Stream:
    def __init__(self, send: Send, receive: Receive, model: str = "") -> None:
        self.send = send
        self.receive = receive
        self.chunks = sse.Chunks(model)
        self.started = False
        self.finished = False

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.send(
                {"type": "http.response.start", "status": 200, "headers": list(sse.HEADERS)}
            )

    async def write(self, data: bytes) -> None:
        await self.start()
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def respond(self, status: int, body: bytes, content_type: bytes) -> None:
        """A whole, non-streamed answer instead (only before the stream started)."""
        self.finished = True
        await send_bytes(self.send, status, body, content_type)

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run the producer to its end and close the response, whatever happens."""
        try:
            await until_disconnect(work, self.receive)
        except ClientGone:
            return
        except Exception as exc:
            if not self.started and not self.finished:
                await send_error(self.send, exc)
                return
            _, err = from_exception(exc)
            if not self.finished:
                await self.write(self.chunks.error(err))
        if self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
