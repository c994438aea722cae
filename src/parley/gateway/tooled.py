"""Requests with server tools (fusion, web_search, web_fetch, datetime): Parley runs the
outer model's tool loop itself, through `parley.engine`, and answers when it is done.

Streaming follows contract section 7: a heartbeat comment at once and whenever nothing
else was written for a while or a server tool starts, the answer's text as ordinary
chunks, the client's own tool calls if the model made any, a finish chunk, one chunk with
empty `choices` and the usage summed over every call, then `[DONE]`.
"""

from __future__ import annotations

import contextlib

from parley import _constants as C
from parley import engine
from parley.engine import events as ev
from parley.fusion import events as fusion_ev
from parley.gateway import runs
from parley.gateway.asgi import Receive, Send, send_bytes, until_disconnect
from parley.gateway.state import GatewayState
from parley.gateway.streaming import Stream
from parley.tools import events as loop_ev
from parley.wire import fusion_events, sse
from parley.wire.chat_response import Chunks, response
from parley.wire.sse import json_bytes


def chat_response(outcome: engine.Outcome) -> dict[str, object]:
    """The outcome as a Chat Completions response."""
    return response(
        model=outcome.model,
        content=outcome.text,
        finish_reason=outcome.finish_reason,
        usage=outcome.usage.to_wire(),
        tool_calls=[c.wire() for c in outcome.tool_calls] or None,
        response_id=outcome.id,
    )


async def complete(p: engine.Plan, state: GatewayState, send: Send, receive: Receive) -> None:
    outcome = await until_disconnect(runs.run(p, state), receive)
    if state.log is not None:
        await state.log.record(outcome, p.request.messages)
    await send_bytes(send, 200, state.redactor.data(json_bytes(chat_response(outcome))))


async def stream(
    p: engine.Plan, state: GatewayState, send: Send, receive: Receive, *, events: bool = False
) -> None:
    """Stream the answer; with `events`, fusion progress goes out too, as SSE comments
    (`: response.fusion_call.panel.added {...}`) that chunk-validating clients skip."""
    chunks = Chunks(p.outer_model, p.id)
    out = Stream(send, receive, lambda err: sse.data(chunks.error(err)), state.redactor)
    await out.run(_produce(p, state, out, chunks, events))


async def _produce(
    p: engine.Plan, state: GatewayState, out: Stream, chunks: Chunks, events: bool
) -> None:
    await out.write(sse.HEARTBEAT)
    seq = 0
    opened = False
    fusion_started = False
    items = runs.stream(p, state, panel_text=events)
    async with contextlib.aclosing(items):
        async for item in items:
            if isinstance(item, loop_ev.TextDelta):
                if not opened:
                    opened = True
                    await out.write(sse.data(chunks.role()))
                await out.write(sse.data(chunks.text(item.text)))
            elif isinstance(item, ev.Idle):
                await out.write(sse.HEARTBEAT)  # keeps proxies and clients from giving up
            elif isinstance(item, loop_ev.ToolStarted):
                await out.write(sse.HEARTBEAT)
                if events and item.name == C.FUSION_TOOL and not fusion_started:
                    fusion_started = True  # a capped second call never runs
                    seq += 1
                    start = fusion_events.base(fusion_events.IN_PROGRESS, p.id, seq)
                    await out.write(sse.comment(fusion_events.IN_PROGRESS, start))
            elif isinstance(item, ev.Completed):
                if not opened:
                    await out.write(sse.data(chunks.role()))
                if state.log is not None:
                    await state.log.record(item.outcome, p.request.messages)
                await _finish(out, chunks, item.outcome)
                return  # a heartbeat queued just now must not follow [DONE]
            elif events and isinstance(item, fusion_ev.FusionEvent):
                if isinstance(item, fusion_ev.AnalysisCompleted) and item.analysis is None:
                    # OpenRouter's analysis.completed always carries an analysis; a failed
                    # judge's reason goes out on fusion_call.completed instead.
                    continue
                seq += 1
                wire = fusion_events.to_wire(item, p.id, seq)
                await out.write(sse.comment(wire["type"], wire))


async def _finish(out: Stream, chunks: Chunks, outcome: engine.Outcome) -> None:
    if outcome.tool_calls:
        await out.write(sse.data(chunks.tool_calls([c.wire() for c in outcome.tool_calls])))
    await out.write(sse.data(chunks.finish(outcome.finish_reason)))
    await out.write(sse.data(chunks.usage(outcome.usage.to_wire())))
    await out.end()
