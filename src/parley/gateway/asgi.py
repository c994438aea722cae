"""Small ASGI helpers: read a bounded body, answer with bytes, and notice a client leaving.

The chat route is a plain ASGI callable rather than a Starlette request handler: the
passthrough hop is measured against a bare proxy, and every layer shows up in its latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, TypeVar

from parley.gateway.errors import HTTPError, from_exception
from parley.redact import NO_SECRETS, Redactor
from parley.wire.sse import json_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

T = TypeVar("T")

JSON = b"application/json"


class ClientGone(Exception):
    """The client disconnected; the work its request started has been cancelled."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (`name` in lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and _exceeds(declared, limit):
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone
        chunk = msg.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        if not msg.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _exceeds(digits: bytes, limit: int) -> bool:
    # Lengths first: int() refuses thousands of digits (Python's int-string limit).
    digits = digits.lstrip(b"0")
    return len(digits) > len(str(limit)) or int(digits or b"0") > limit


def _too_large(limit: int) -> HTTPError:
    return HTTPError(
        413,
        f"request body is larger than {limit} bytes; "
        "the server's limit is set with `parley serve --max-body`",
        "request_too_large",
    )


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, exc: BaseException, redactor: Redactor = NO_SECRETS) -> None:
    """The error response for `exc`; upstream text in it passes the redactor."""
    status, body = from_exception(exc)
    extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
    if isinstance(exc, HTTPError) and exc.retry_after is not None:
        extra.append((b"retry-after", str(exc.retry_after).encode()))
    await send_bytes(send, status, redactor.data(json_bytes(body)), extra=extra)


async def wait_disconnect(receive: Receive) -> None:
    """Return when the client has gone (the body was already read)."""
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return


async def until_disconnect(work: Coroutine[Any, Any, T], receive: Receive) -> T:
    """Run `work`, cancelling it (and every upstream call under it) if the client leaves.

    `work` runs in the calling task and only the watcher gets a task of its own: one task
    per request fewer on the passthrough path.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False
    # Removing the callback below does not unschedule one the watcher's completion has
    # already queued: without this flag, a client leaving just as the work finished would
    # cancel the task while it sends the response.
    finished = False

    def leave(watch: asyncio.Future[None]) -> None:
        nonlocal gone
        if finished or watch.cancelled() or watch.exception() is not None:
            return
        gone = True
        task.cancel()

    watch = asyncio.ensure_future(wait_disconnect(receive))
    watch.add_done_callback(leave)
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            task.uncancel()
            raise ClientGone from None
        raise
    finally:
        finished = True
        watch.remove_done_callback(leave)
        watch.cancel()
