"""What the gateway's JSON endpoints share: a plain ASGI callable (see
`parley.gateway.asgi` for why) that admits the request (`parley.gateway.admission`),
reads a bounded JSON body within the read timeout and Parley's depth header, and answers
any error in the error shape, credentials masked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley import engine
from parley.gateway.asgi import ClientGone, Receive, Scope, Send, header, read_body, send_error
from parley.gateway.errors import HTTPError
from parley.gateway.request import parse_depth, parse_json
from parley.gateway.state import GatewayState

_DEPTH = C.DEPTH_HEADER.encode()


@dataclass
class Incoming:
    """A request as read: its bytes, their JSON object, and the fusion depth it carries."""

    data: bytes
    body: dict[str, Any]
    depth: int


class JsonEndpoint:
    """Subclasses answer in `handle`; whatever it raises becomes an error response."""

    def __init__(self, state: GatewayState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with self.state.admission.request():
                data = await self._read(scope, receive)
                incoming = Incoming(data, parse_json(data), parse_depth(header(scope, _DEPTH)))
                await self.handle(incoming, scope, receive, send)
        except ClientGone:
            return
        except asyncio.CancelledError:
            # Not the client leaving (that is ClientGone): the server stopping past its
            # grace period. Say so in the error shape rather than the server's bare 500.
            with contextlib.suppress(Exception):  # an answer already started stays cut
                await send_error(send, _shut_down(), self.state.redactor)
            raise
        except Exception as exc:
            await send_error(send, exc, self.state.redactor)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        # A client trickling its body would otherwise hold a slot for as long as it likes.
        limit = self.state.read_timeout
        try:
            async with asyncio.timeout(limit):
                return await read_body(scope, receive, self.state.max_body)
        except TimeoutError:
            raise HTTPError(
                408,
                f"the request body took longer than {limit:g} s to arrive "
                "(setting `gateway.read_timeout`, PARLEY_READ_TIMEOUT)",
                "read_timeout",
            ) from None

    @contextlib.contextmanager
    def admitted(self, p: engine.Plan, incoming: Incoming) -> Iterator[None]:
        """Where every request that runs the engine with server tools is admitted (or
        refused): a passthrough one is a single upstream call and is not counted."""
        if p.passthrough:
            yield
            return
        with self.state.admission.deliberation(len(incoming.data)):
            yield

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def _shut_down() -> HTTPError:
    return HTTPError(
        503,
        "the server shut down before this request finished (its grace period, "
        "`gateway.shutdown_grace`, ran out); retry it",
        "shut_down",
        retry_after=C.GATEWAY_RETRY_AFTER_S,
    )
