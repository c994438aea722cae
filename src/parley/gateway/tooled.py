"""Requests with server tools (fusion, web_search, web_fetch, datetime): Parley runs the
outer model's tool loop itself, through `parley.engine`, and answers when it is done.

Streaming follows contract section 7: a heartbeat comment at once and whenever nothing
else was written for a while or a server tool starts, the answer's text as ordinary
chunks, the client's own tool calls if the model made any, a finish chunk, one chunk with
empty `choices` and the usage summed over every call, then `[DONE]`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from parley import _constants as C
from parley import engine as chat
from parley.fusion import events as ev
from parley.gateway import sse
from parley.gateway.asgi import Receive, Send, send_bytes, until_disconnect
from parley.gateway.errors import encode
from parley.gateway.log import GatewayLog
from parley.gateway.streaming import Stream
from parley.redact import NO_SECRETS, Redactor
from parley.runtime import Runtime


async def complete(
    p: chat.Plan,
    runtime: Runtime,
    send: Send,
    receive: Receive,
    log: GatewayLog | None = None,
    redactor: Redactor = NO_SECRETS,
) -> None:
    outcome = await until_disconnect(chat.run(p, runtime), receive)
    if log is not None:
        await log.record(outcome, p.request.messages)
    await send_bytes(send, 200, redactor.data(encode(outcome.response)))


async def stream(
    p: chat.Plan,
    runtime: Runtime,
    send: Send,
    receive: Receive,
    heartbeat_s: float = C.GATEWAY_HEARTBEAT_S,
    events: bool = False,
    log: GatewayLog | None = None,
    redactor: Redactor = NO_SECRETS,
) -> None:
    """Stream the answer; with `events`, fusion progress goes out too as named events
    (`event: response.fusion_call.panel.added` ...), for clients that asked for them."""
    out = Stream(send, receive, p.outer_model, redactor)
    await out.run(_produce(p, runtime, out, heartbeat_s, events, log))


async def _produce(
    p: chat.Plan,
    runtime: Runtime,
    out: Stream,
    heartbeat_s: float,
    events: bool,
    log: GatewayLog | None,
) -> None:
    await out.write(sse.HEARTBEAT)
    seq = 0
    opened = False
    fusion_started = False
    items = chat.stream(p, runtime, events=events, idle_s=heartbeat_s)
    async with contextlib.aclosing(items):
        async for item in items:
            if isinstance(item, str):
                if not opened:
                    opened = True
                    await out.write(out.chunks.role())
                await out.write(out.chunks.text(item))
            elif isinstance(item, chat.Idle):
                await out.write(sse.HEARTBEAT)  # keeps proxies and clients from giving up
            elif isinstance(item, chat.ToolStarted):
                await out.write(sse.HEARTBEAT)
                if events and item.name == C.FUSION_TOOL and not fusion_started:
                    fusion_started = True  # a capped second call never runs
                    seq += 1
                    await out.write(sse.event(IN_PROGRESS, _base(out, IN_PROGRESS, seq)))
            elif isinstance(item, ev.AnalysisCompleted) and item.analysis is None:
                # OpenRouter's analysis.completed always carries an analysis; a failed
                # judge's reason goes out on fusion_call.completed instead.
                pass
            elif isinstance(item, chat.ChatOutcome):
                if not opened:
                    await out.write(out.chunks.role())
                if log is not None:
                    await log.record(item, p.request.messages)
                await _finish(out, item)
                return  # a heartbeat queued just now must not follow [DONE]
            else:
                seq += 1
                wire = ev.to_wire(item, out.chunks.base["id"], seq)
                await out.write(sse.event(item.wire_type, wire))


IN_PROGRESS = "response.fusion_call.in_progress"


def _base(out: Stream, kind: str, seq: int) -> dict[str, Any]:
    return {
        "type": kind,
        "item_id": out.chunks.base["id"],
        "output_index": 0,
        "sequence_number": seq,
    }


async def _finish(out: Stream, outcome: chat.ChatOutcome) -> None:
    calls = outcome.loop.client_tool_calls
    if calls:
        await out.write(out.chunks.tool_calls(calls))
    finish = str(outcome.response["choices"][0].get("finish_reason") or "stop")
    await out.write(out.chunks.finish(finish))
    await out.write(out.chunks.usage(outcome.response["usage"]))
    await out.end()
