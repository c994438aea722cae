"""The lean path: a request with no server tools goes to its routed upstream untouched.

For HTTP upstreams the bytes are piped: the non-streaming body comes back as the upstream
sent it, and a stream's chunks are written as they arrive, without parsing. Models that
live in-process (local GGUF, injected fakes) go through the ChatModel protocol instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.gateway import sse
from parley.gateway.asgi import JSON, Receive, Send, send_bytes, until_disconnect
from parley.gateway.errors import encode
from parley.gateway.streaming import Stream
from parley.models.base import ChatModel
from parley.models.chat_completions import ChatCompletionsModel


async def complete(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    send: Send,
    receive: Receive,
    raw: bytes | None = None,
) -> None:
    """Non-streaming passthrough; the client leaving cancels the upstream call. `raw`:
    the bytes `body` was parsed from, when it is unchanged (sent as they are)."""
    payload, ctype = await until_disconnect(_complete(model, body, headers, raw), receive)
    await send_bytes(send, 200, payload, ctype)


async def _complete(
    model: ChatModel, body: dict[str, Any], headers: Mapping[str, str], raw: bytes | None
) -> tuple[bytes, bytes]:
    if isinstance(model, ChatCompletionsModel):
        async with model.forward(body, headers, raw) as resp:
            payload = await resp.read()
            ctype = resp.headers.get("Content-Type", "application/json").encode()
        return payload, ctype
    return encode(await model.complete(body, headers)), JSON


async def stream(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    send: Send,
    receive: Receive,
    raw: bytes | None = None,
) -> None:
    """Streaming passthrough: the upstream's events go to the client as they come.

    An upstream error before the first byte is an ordinary error response with the
    upstream's status; after it, a data event carrying `error`.
    """
    out = Stream(send, receive, str(body.get("model") or ""))
    await out.run(_pipe(model, body, headers, out, raw))


async def _pipe(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    out: Stream,
    raw: bytes | None,
) -> None:
    if isinstance(model, ChatCompletionsModel):
        async with model.forward(body, headers, raw) as resp:
            if "text/event-stream" not in resp.headers.get("Content-Type", ""):
                # The upstream ignored `stream`; hand its whole answer over as it is.
                await out.respond(200, await resp.read(), JSON)
                return
            await out.start()
            async for piece in resp.content.iter_any():
                await out.write(piece)
        return
    async for chunk in model.stream(body, headers):
        await out.write(sse.data(chunk))
    await out.write(sse.DONE)
