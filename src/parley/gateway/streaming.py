"""One streamed response: headers sent once, bytes as they come, errors in the right form.

Before the first byte an error is an ordinary error response with its status; after it,
the status line is gone, so the error travels as a data event (contract section 7). A
client that leaves cancels the producer, and with it every upstream call it started.

What the client receives is framed here and nowhere else: every write passes the
redactor, an error event always starts on a fresh SSE line (never glued to a partial
one), and nothing follows `data: [DONE]`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from parley.gateway.asgi import ClientGone, Receive, Send, send_bytes, send_error, until_disconnect
from parley.gateway.errors import from_exception
from parley.redact import NO_SECRETS, Redactor
from parley.wire import sse


class Stream:
    def __init__(
        self,
        send: Send,
        receive: Receive,
        error_event: Callable[[dict[str, Any]], bytes],
        redactor: Redactor = NO_SECRETS,
    ) -> None:
        self.send = send
        self.receive = receive
        # Renders an error body (`{"error": {...}}`) as the wire format's error event.
        self.error_event = error_event
        self.redactor = redactor
        self.started = False
        self.finished = False  # a whole answer was sent instead (`respond`)
        self.done = False  # `[DONE]` went out: the stream is over
        self._tail = b"\n\n"  # the last bytes written, to tell where an event ends

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.send(
                {"type": "http.response.start", "status": 200, "headers": list(sse.HEADERS)}
            )

    async def write(self, data: bytes) -> None:
        """Send bytes of the stream; after `[DONE]` nothing more is sent."""
        if self.done or not data:
            return
        await self.start()
        data = self.redactor.data(data)
        self._tail = (self._tail + data)[-2:]
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self) -> None:
        """`data: [DONE]`, the stream's last event."""
        await self.write(sse.DONE)
        self.done = True

    async def close(self) -> None:
        """No more events (a format that ends without `[DONE]`, as Responses does)."""
        self.done = True

    async def error(self, err: dict[str, Any]) -> None:
        """The error event, on a line of its own whatever was written before it."""
        if self.done:
            return
        if not self._tail.endswith(b"\n\n"):
            await self.write(b"\n" if self._tail.endswith(b"\n") else b"\n\n")
        await self.write(self.error_event(err))

    async def respond(self, status: int, body: bytes, content_type: bytes) -> None:
        """A whole, non-streamed answer instead (only before the stream started)."""
        self.finished = True
        await send_bytes(self.send, status, self.redactor.data(body), content_type)

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run the producer to its end and close the response, whatever happens."""
        try:
            await until_disconnect(work, self.receive)
        except ClientGone:
            return
        except Exception as exc:
            if not self.started and not self.finished:
                await send_error(self.send, exc, self.redactor)
                return
            _, err = from_exception(exc)
            if not self.finished:
                await self.error(err)
        if self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
