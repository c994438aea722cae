"""POST /v1/deliberations: ask a question and watch the deliberation as Server-Sent Events
(what the web page reads), and POST /v1/deliberations/cancel to stop one.

The run is the CLI's `ask`: the outer model with fusion forced once, over the same engine
and the same typed events. Each SSE event is named (`event:`) and its `data` is JSON:

    parley.run.started          run_id, conversation_id, cancel_token, logged, model
    response.fusion_call.*      the deliberation, named and shaped as OpenRouter's; panel
                                events add the member's `index`, completed and failed its
                                `seconds`, completed its own `usage`
    parley.tool_call            a server tool the outer model called (name, arguments)
    response.output_text.delta  the final answer's text as it is written
    parley.run.completed        the run's log entry: answers, analysis, usage, timings
    parley.run.cancelled        the run was stopped; the entry of what had finished
                                (status `interrupted`, as the CLI logs a Ctrl-C)
    error                       {"error": {...}} in the gateway's error shape

Closing the stream cancels the run as well, and with it every upstream call it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from parley import engine
from parley.engine import events as ev
from parley.errors import InvalidParameter
from parley.fusion import events as fusion_ev
from parley.gateway import runs
from parley.gateway.asgi import Receive, Scope, Send, send_bytes
from parley.gateway.endpoint import Incoming, JsonEndpoint
from parley.gateway.errors import HTTPError
from parley.gateway.log import gateway_entry
from parley.gateway.state import GatewayState
from parley.gateway.streaming import Stream
from parley.models.base import last_user_text
from parley.store import Entry, EventRecorder, new_id
from parley.tools import events as loop_ev
from parley.validation import Strict, parse_or_raise
from parley.wire import fusion_events, sse
from parley.wire.chat_request import to_request
from parley.wire.sse import json_bytes

STARTED = "parley.run.started"
COMPLETED = "parley.run.completed"
CANCELLED = "parley.run.cancelled"
TOOL_CALL = "parley.tool_call"
TEXT_DELTA = "response.output_text.delta"
ERROR = "error"
EVENT_NAMES = (
    STARTED,
    *fusion_events.WIRE_TYPES.values(),
    TOOL_CALL,
    TEXT_DELTA,
    COMPLETED,
    CANCELLED,
    ERROR,
)


class Ask(Strict):
    """The body of POST /v1/deliberations."""

    question: str = Field(min_length=1, description="What to ask")
    model: str | None = Field(default=None, description="The outer model (writes the answer)")
    panel: list[str] | None = Field(default=None, description="The panel's model ids")
    judge: str | None = Field(default=None, description="The judge's model id")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="More fusion parameters (temperature, tools, ...)"
    )
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="Earlier messages of the conversation continued"
    )
    conversation_id: str | None = Field(
        default=None, description="The logged conversation this question continues"
    )


class CancelBody(Strict):
    cancel_token: str = Field(min_length=1)


class Running:
    """Runs in flight by cancel token: a token is only known to the stream that got it."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self.stopped: set[str] = set()

    def add(self, token: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[token] = task

    def remove(self, token: str) -> None:
        self._tasks.pop(token, None)
        self.stopped.discard(token)

    def cancel(self, token: str) -> bool:
        task = self._tasks.get(token)
        if task is None or token in self.stopped:
            return False
        self.stopped.add(token)
        task.cancel()
        return True


def chat_body(ask: Ask, settings: Any) -> dict[str, Any]:
    """The Chat Completions request `parley ask` would send for the same choices."""
    fusion = dict(ask.parameters)
    if ask.panel is not None:  # an empty panel is an error to report, not the default
        fusion["analysis_models"] = ask.panel
    if ask.judge:
        fusion["model"] = ask.judge
    return {
        "model": ask.model or settings.model or settings.outer_model_for(),
        "messages": [*ask.history, {"role": "user", "content": ask.question}],
        "tools": [{"type": "openrouter:fusion", "parameters": fusion}],
        "tool_choice": "required",
        "stream": True,
    }


# Where the Ask's fields sit in the Chat Completions request built from it.
_BUILT_AT = {"tools[0].parameters.analysis_models": "panel", "tools[0].parameters.model": "judge"}
_BUILT_AT |= {"tools[0].parameters": "parameters", "messages": "history"}


def _as_asked(exc: InvalidParameter) -> InvalidParameter:
    """The error of the request built from an Ask, naming the Ask's own field."""
    for built, asked in _BUILT_AT.items():
        if exc.field == built or exc.field.startswith((built + ".", built + "[")):
            field = asked + exc.field[len(built) :]
            return InvalidParameter(field, str(exc).removeprefix(exc.field + ": "))
    return exc


def named(name: str, payload: dict[str, Any]) -> bytes:
    return sse.event(name, payload)


def _add_member_facts(wire: dict[str, Any], item: fusion_ev.FusionEvent) -> None:
    """Beyond OpenRouter's shapes, what a column needs: which member (two may share a
    model id), how long it took, and what it spent."""
    index = getattr(item, "index", None)
    if index is not None:
        wire["index"] = index
    if isinstance(item, fusion_ev.PanelCompleted | fusion_ev.PanelFailed):
        wire["seconds"] = round(item.seconds, 3)
    if isinstance(item, fusion_ev.PanelCompleted) and item.usage is not None:
        wire["usage"] = item.usage.to_wire()


class DeliberationsEndpoint(JsonEndpoint):
    """POST /v1/deliberations."""

    def __init__(self, state: GatewayState, running: Running) -> None:
        super().__init__(state)
        self.running = running

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        ask = parse_or_raise(Ask, incoming.body, "")
        runtime = self.state.runtime
        try:
            p = engine.plan(to_request(chat_body(ask, runtime.settings)), runtime)
        except InvalidParameter as exc:
            raise _as_asked(exc) from None
        runtime.router.resolve(p.outer_model)  # a missing key is a 503 before the stream
        with self.admitted(p, incoming):
            out = Stream(send, receive, lambda err: named(ERROR, err), self.state.redactor)
            await out.run(self._produce(p, ask, out))

    async def _produce(self, p: engine.Plan, ask: Ask, out: Stream) -> None:
        state = self.state
        run = _Run(p, new_id(), secrets.token_urlsafe(16))
        run.conversation = ask.conversation_id or run.id
        started = {
            "run_id": run.id,
            "conversation_id": run.conversation,
            "cancel_token": run.token,
            "logged": state.log is not None,
            "model": p.outer_model,
        }
        self.running.add(run.token)
        try:
            await out.write(named(STARTED, started))
            await self._events(run, out)
        except asyncio.CancelledError:
            if run.token not in self.running.stopped:
                raise  # the client left, or the server is stopping
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            entry = run.interrupted()
            if state.log is not None:
                await state.log.save(entry)
            await out.write(named(CANCELLED, entry.to_dict()))
            await out.close()
        finally:
            self.running.remove(run.token)

    async def _events(self, run: _Run, out: Stream) -> None:
        state, p = self.state, run.plan
        seq = 0
        ids = {"entry_id": run.id, "conversation_id": run.conversation}
        items = runs.stream(p, state, panel_text=True, **ids)
        async with contextlib.aclosing(items):
            async for item in items:
                run.heard(item)
                if isinstance(item, ev.Idle):
                    await out.write(sse.HEARTBEAT)
                elif isinstance(item, loop_ev.TextDelta):
                    await out.write(named(TEXT_DELTA, {"delta": item.text}))
                elif isinstance(item, loop_ev.ToolStarted):
                    args = {"name": item.name, "arguments": item.arguments}
                    await out.write(named(TOOL_CALL, args))
                elif isinstance(item, fusion_ev.FusionEvent):
                    seq += 1
                    wire = fusion_events.to_wire(item, p.id, seq)
                    _add_member_facts(wire, item)
                    await out.write(named(wire["type"], wire))
                elif isinstance(item, ev.Completed):
                    entry = gateway_entry(item.outcome, p.request.messages, entry_id=run.id)
                    entry.conversation_id = run.conversation
                    if state.log is not None and item.outcome.deliberations:
                        await state.log.save(entry)
                    await out.write(named(COMPLETED, entry.to_dict()))
                    await out.close()
                    return


@dataclass
class _Run:
    """One run of the endpoint: its ids, and what it did so far (for a stopped run's log
    entry, as the CLI keeps one after Ctrl-C)."""

    plan: engine.Plan
    id: str
    token: str
    conversation: str = ""
    recorder: EventRecorder = field(default_factory=EventRecorder)
    text: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def heard(self, item: object) -> None:
        self.recorder(item)
        if isinstance(item, loop_ev.TextDelta):
            self.text.append(item.text)

    def interrupted(self) -> Entry:
        return Entry(
            id=self.id,
            conversation_id=self.conversation or self.id,
            question=last_user_text(self.plan.request.messages),
            model=self.plan.outer_model,
            source="gateway",
            answer="".join(self.text),
            status="interrupted",
            error="stopped from the web page before it finished",
            seconds=time.perf_counter() - self.started,
            deliberations=self.recorder.interrupted(),
        )


class CancelEndpoint(JsonEndpoint):
    """POST /v1/deliberations/cancel: stop the run the token was given for."""

    def __init__(self, state: GatewayState, running: Running) -> None:
        super().__init__(state)
        self.running = running

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        body = parse_or_raise(CancelBody, incoming.body, "")
        if not self.running.cancel(body.cancel_token):
            raise HTTPError(
                404,
                "no running deliberation has this cancel_token (it finished, or was "
                "already stopped); use the token from its parley.run.started event",
                "run_not_found",
                "cancel_token",
            )
        await send_bytes(send, 200, json_bytes({"cancelled": True}))


__all__ = ["EVENT_NAMES", "Ask", "CancelEndpoint", "DeliberationsEndpoint", "Running"]
