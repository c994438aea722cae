"""The lean path: a request with no server tools goes to its routed upstream untouched.

For HTTP upstreams the bytes are piped: the non-streaming body comes back as the upstream
sent it, and a stream's lines are written as they arrive, without parsing JSON. Models
that live in-process (local GGUF, injected fakes) go through the ChatModel protocol.

What is piped passes the redactor (an upstream may echo a credential), a stream goes out
in whole lines (so that a credential cannot hide across a chunk boundary, and an error
event never lands in the middle of a line), and a stream that ends with neither a
`finish_reason` nor `[DONE]` ends with an error event instead of looking complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from parley.gateway import sse
from parley.gateway.asgi import JSON, Receive, Send, send_bytes, until_disconnect
from parley.gateway.errors import encode, error_body
from parley.gateway.streaming import Stream
from parley.models.base import ChatModel
from parley.models.http import ChatCompletionsModel
from parley.redact import NO_SECRETS, Redactor

# A partial line longer than this is passed on as it is rather than held in memory.
MAX_PENDING_LINE = 1 << 20
_FINISH = re.compile(rb'"finish_reason"\s*:\s*"')


async def complete(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    send: Send,
    receive: Receive,
    raw: bytes | None = None,
    redactor: Redactor = NO_SECRETS,
) -> None:
    """Non-streaming passthrough; the client leaving cancels the upstream call. `raw`:
    the bytes `body` was parsed from, when it is unchanged (sent as they are)."""
    payload, ctype = await until_disconnect(_complete(model, body, headers, raw), receive)
    await send_bytes(send, 200, redactor.data(payload), ctype)


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
    redactor: Redactor = NO_SECRETS,
) -> None:
    """Streaming passthrough: the upstream's events go to the client as they come.

    An upstream error before the first byte is an ordinary error response with the
    upstream's status; after it, a data event carrying `error`.
    """
    out = Stream(send, receive, str(body.get("model") or ""), redactor)
    await out.run(_pipe(model, body, headers, out, raw))


class _Lines:
    """Splits piped bytes at line ends and notes whether the stream said it finished."""

    def __init__(self) -> None:
        self.pending = b""
        self.finished = False

    def feed(self, piece: bytes) -> bytes:
        """The complete lines that `piece` ends (held back: a trailing partial line)."""
        data = self.pending + piece
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) <= MAX_PENDING_LINE:
            self.pending = data
            return b""
        if cut == 0:
            cut = len(data)
        self.pending = data[cut:]
        lines = data[:cut]
        if not self.finished and (b"data: [DONE]" in lines or _FINISH.search(lines)):
            self.finished = True
        return lines


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
            lines = _Lines()
            async for piece in resp.content.iter_any():
                await out.write(lines.feed(piece))
        # At the end an unterminated line is no event (SSE readers discard it), unless it
        # is the closing `[DONE]` of a server that omits the last newline.
        if lines.pending.strip() == sse.DONE.strip():
            await out.end()
            return
        if not lines.finished:
            message = (
                f"{model.model_id}: the upstream closed the stream before it finished "
                "(no finish_reason and no [DONE]); the answer is incomplete"
            )
            await out.error(error_body(502, message, 502))
        return
    async for chunk in model.stream(body, headers):
        await out.write(sse.data(chunk))
    await out.end()
