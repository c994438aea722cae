"""Optional API keys for the gateway (`PARLEY_API_KEYS`, comma-separated).

Keys are compared with `hmac.compare_digest` against every configured key, so the time a
check takes does not reveal how much of a guess was right. Without keys the server must
stay on loopback unless the operator says `--insecure` (see `check_bind`).
"""

from __future__ import annotations

import hmac
import ipaddress

from parley.gateway.asgi import ASGIApp, Receive, Scope, Send, header, send_bytes
from parley.gateway.errors import error_body
from parley.gateway.page import is_open
from parley.wire.sse import json_bytes

KEYS_ENV = "PARLEY_API_KEYS"
# Probes, the API description and the web page's files (`page.is_open`); never anything
# that spends or reveals.
OPEN_PATHS = frozenset({"/health", "/ready", "/openapi.json"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, has_keys: bool, insecure: bool) -> str | None:
    """Why binding `host` is refused, or None when it is allowed."""
    if has_keys or insecure or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without API keys: anyone who can reach it could spend "
        f"your provider credit. Set {KEYS_ENV}=key1,key2 (clients send `Authorization: "
        "Bearer key1`), or pass --insecure if something in front of Parley checks access."
    )


class ApiKeyMiddleware:
    """Plain ASGI middleware: 401 unless the request carries one of the keys."""

    def __init__(self, app: ASGIApp, keys: list[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.rstrip("/") in OPEN_PATHS or is_open(path):
            await self.app(scope, receive, send)
            return
        if self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = error_body(
            401,
            "missing or wrong API key: send `Authorization: Bearer <key>` with one of the keys "
            f"in the server's {KEYS_ENV}",
            "invalid_api_key",
        )
        await send_bytes(send, 401, json_bytes(body), extra=[(b"www-authenticate", b"Bearer")])

    def _allowed(self, scope: Scope) -> bool:
        raw = header(scope, b"authorization") or b""
        scheme, _, token = raw.partition(b" ")
        if scheme.lower() != b"bearer":
            token = header(scope, b"x-api-key") or b""
        token = token.strip()
        ok = False
        for key in self.keys:  # no early exit: every key is compared every time
            ok |= hmac.compare_digest(token, key)
        return ok and bool(token)
