"""The lean path: a request with no server tools goes to its routed upstream untouched.

A model that can forward (`parley.models.base.Forwarding`: an HTTP upstream) gets the
client's body as it came and its bytes are piped back: the non-streaming body as the
upstream sent it, a stream's lines as they arrive, without parsing JSON. Models that live
in-process (local GGUF, injected fakes) answer through `complete`/`stream`, rendered as
Chat Completions here.

What is piped passes the redactor (an upstream may echo a credential), a stream goes out
in whole lines (so that a credential cannot hide across a chunk boundary, and an error
event never lands in the middle of a line), a Chat Completions stream's text is followed
across chunks (`masked_chunks`: a credential quoted in two pieces), and a stream that
ends with neither a `finish_reason` nor `[DONE]` ends with an error event instead of
looking complete.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parley.gateway.asgi import JSON, Receive, Send, send_bytes, until_disconnect
from parley.gateway.errors import error_body
from parley.gateway.masked_chunks import MaskedChunks
from parley.gateway.state import GatewayState
from parley.gateway.streaming import Stream
from parley.wire import sse
from parley.wire.chat_response import Chunks, response_of_turn
from parley.wire.sse import json_bytes

# A partial line longer than this is passed on as it is rather than held in memory.
MAX_PENDING_LINE = 1 << 20
# How each format says a stream ended as it should.
_FINISH = re.compile(rb'"finish_reason"\s*:\s*"|^data: \[DONE\]', re.M)
_RESPONSE_END = re.compile(rb'"type"\s*:\s*"response\.(completed|incomplete|failed)"')
_SEQUENCE = re.compile(rb'"sequence_number"\s*:\s*(\d+)')


@dataclass
class Call:
    """One passthrough call: the model id, the body to send, extra headers, the bytes
    the body was parsed from when it is sent unchanged, and the upstream's endpoint
    (`chat/completions`, or `responses` for an upstream that speaks it)."""

    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes | None = None
    endpoint: str = "chat/completions"

    @property
    def responses(self) -> bool:
        return self.endpoint == "responses"


async def complete(call: Call, state: GatewayState, send: Send, receive: Receive) -> None:
    """Non-streaming passthrough; the client leaving cancels the upstream call."""
    payload, ctype = await until_disconnect(_complete(call, state), receive)
    await send_bytes(send, 200, state.redactor.data(payload), ctype)


async def _complete(call: Call, state: GatewayState) -> tuple[bytes, bytes]:
    router = state.runtime.router
    forwarding = router.forwarding(call.model, responses=call.responses)
    if forwarding is not None:
        async with forwarding.forward(call.body, call.headers, call.raw, call.endpoint) as resp:
            payload = await resp.read()
            ctype = resp.headers.get("Content-Type", "application/json").encode()
        return payload, ctype
    turn = await router.resolve(call.model).complete(call.body, call.headers)
    return json_bytes(response_of_turn(turn, turn.model or call.model)), JSON


def _error_event(call: Call, lines: _Lines) -> Callable[[dict[str, Any]], bytes]:
    """How an error after the first byte reaches the client, in the stream's format."""
    if not call.responses:
        chunks = Chunks(call.model)
        return lambda err: sse.data(chunks.error(err))

    def responses_error(err: dict[str, Any]) -> bytes:
        event = {
            "type": "error",
            "sequence_number": lines.last_sequence + 1,
            "code": "server_error",
            "message": err["error"]["message"],
            "param": None,
        }
        return sse.event("error", event)

    return responses_error


async def stream(call: Call, state: GatewayState, send: Send, receive: Receive) -> None:
    """Streaming passthrough: the upstream's events go to the client as they come.

    An upstream error before the first byte is an ordinary error response with the
    upstream's status; after it, a data event carrying `error`.
    """
    lines = _Lines(_RESPONSE_END if call.responses else _FINISH)
    out = Stream(send, receive, _error_event(call, lines), state.redactor)
    await out.run(_pipe(call, state, out, lines))


class _Lines:
    """Splits piped bytes at line ends and notes whether the stream said it finished
    (`done` matches that) and the last `sequence_number` it carried (Responses)."""

    def __init__(self, done: re.Pattern[bytes]) -> None:
        self.done = done
        self.pending = b""
        self.finished = False
        self.last_sequence = 0

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
        if not self.finished and self.done.search(lines):
            self.finished = True
        numbers = _SEQUENCE.findall(lines)
        if numbers:
            self.last_sequence = int(numbers[-1])
        return lines


async def _pipe(call: Call, state: GatewayState, out: Stream, lines: _Lines) -> None:
    router = state.runtime.router
    forwarding = router.forwarding(call.model, responses=call.responses)
    if forwarding is None:
        await _render(call, state, out)
        return
    async with forwarding.forward(call.body, call.headers, call.raw, call.endpoint) as resp:
        if "text/event-stream" not in resp.headers.get("Content-Type", ""):
            # The upstream ignored `stream`; hand its whole answer over as it is.
            await out.respond(200, await resp.read(), JSON)
            return
        await out.start()
        # Chat chunks carry a choice's text in pieces; Responses events are left as they
        # come (their deltas are numbered: see masked_chunks).
        masked = None if call.responses else MaskedChunks(state.redactor)
        async for piece in resp.content.iter_any():
            whole = lines.feed(piece)
            await out.write(masked.lines(whole) if masked else whole)
    # At the end an unterminated line is no event (SSE readers discard it), unless it
    # is the closing `[DONE]` of a server that omits the last newline.
    if lines.pending.strip() == sse.DONE.strip() and not call.responses:
        await out.end()
        return
    if not lines.finished:
        message = (
            f"{call.model}: the upstream closed the stream before it finished "
            "(no finish_reason and no [DONE]); the answer is incomplete"
        )
        await out.error(error_body(502, message, 502))


async def _render(call: Call, state: GatewayState, out: Stream) -> None:
    """An in-process model's stream as Chat Completions chunks."""
    chunks: Chunks | None = None
    async for delta in state.runtime.router.resolve(call.model).stream(call.body, call.headers):
        if chunks is None:
            chunks = Chunks(delta.model or call.model, delta.response_id or None)
            await out.write(sse.data(chunks.delta({"role": "assistant"})))
        for chunk in chunks.of_delta(delta):
            await out.write(sse.data(chunk))
    await out.end()
