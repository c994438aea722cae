"""What the gateway's JSON endpoints share: a plain ASGI callable (see
`parley.gateway.asgi` for why) that reads a bounded JSON body and Parley's depth header,
and answers any error in the error shape, credentials masked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley.gateway.asgi import ClientGone, Receive, Scope, Send, header, read_body, send_error
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
            data = await read_body(scope, receive, self.state.max_body)
            incoming = Incoming(data, parse_json(data), parse_depth(header(scope, _DEPTH)))
            await self.handle(incoming, scope, receive, send)
        except ClientGone:
            return
        except Exception as exc:
            await send_error(send, exc, self.state.redactor)

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
