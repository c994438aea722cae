"""Running a planned request: the outer model's tool loop (fusion included), the outcome
with usage summed over every call; `stream()` is the same run as an iterator of events.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from parley import _constants as C
from parley.engine import events as ev
from parley.engine.outcome import Outcome, Unfinished
from parley.engine.plan import Plan
from parley.errors import UpstreamError
from parley.fusion.run import Deliberation
from parley.models.base import Turn
from parley.relay import relay
from parley.runtime import Runtime
from parley.tools import events as loop_ev
from parley.tools.loop import LoopResult, ServerCall, run_tool_loop
from parley.usage import Usage

# Between the text of two outer turns (text, a server tool call, more text).
TURN_SEPARATOR = "\n\n"
# Finish reasons under which an empty answer is the truth rather than a fault.
_EMPTY_IS_TRUE = frozenset({"tool_calls", "length", "content_filter"})

Listener = Callable[[ev.Event], None]


class _Answer:
    """The answer's text across outer turns.

    A model may write before it calls a server tool ("Let me ask a panel."), then answer.
    Streamed text cannot be taken back, and holding each turn back until it is known not
    to end in a tool call would hold back the whole answer; so the answer is every outer
    turn's text, joined by TURN_SEPARATOR, both streamed and in the outcome.
    """

    def __init__(self, emit: Listener) -> None:
        self._emit = emit
        self._said = False
        self._new_turn = False

    def __call__(self, event: loop_ev.LoopEvent) -> None:
        if isinstance(event, loop_ev.TurnStarted):
            self._new_turn = True
        elif isinstance(event, loop_ev.TextDelta):
            if not event.text:
                return
            if self._new_turn and self._said:
                self._emit(loop_ev.TextDelta(TURN_SEPARATOR))
            self._new_turn = False
            self._said = True
        self._emit(event)

    @staticmethod
    def joined(messages: list[dict[str, Any]]) -> str:
        """The same text, from the loop's new messages."""
        parts = (m.get("content") for m in messages if m.get("role") == "assistant")
        return TURN_SEPARATOR.join(p for p in parts if isinstance(p, str) and p)


def _deliberations(calls: list[ServerCall]) -> list[Deliberation]:
    return [c.output.record for c in calls if isinstance(c.output.record, Deliberation)]


def _ignore(event: ev.Event) -> None:
    return None


async def run(
    p: Plan,
    runtime: Runtime,
    *,
    emit: Listener | None = None,
    stream: bool = False,
    panel_text: bool = False,
) -> Outcome:
    """Run a planned request to its final answer.

    `emit` hears every event of the run; with `stream` the outer model's answer streams
    (its text arrives as it is written), with `panel_text` the panelists' too.
    """
    started = time.perf_counter()
    emit = emit or _ignore
    runtime = runtime.for_request(p.stop_when.conditions if p.stop_when else None)
    facts = p.facts(emit, stream_panel=panel_text)
    tools = [
        runtime.tools.build_one(u.spec, runtime, where=u.where, request=facts)
        for u in p.server_tools
    ]
    retire = frozenset(u.kind.name for u in p.server_tools if u.kind.once_per_turn)
    headers = {C.DEPTH_HEADER: str(p.depth)} if p.depth else {}
    usage = Usage()
    ran: list[ServerCall] = []
    try:
        result = await run_tool_loop(
            runtime.router.resolve(p.outer_model),
            p.body,
            tools,
            max_steps=p.max_steps,
            headers=headers,
            emit=_Answer(emit),
            stream=stream,
            client_tools=p.client_tools,
            first_tool_choice=p.first_tool_choice,
            tool_choice=p.tool_choice,
            stop_when=p.stop_when,
            retire_after_use=retire,
            usage=usage,
            server_calls=ran,
            budget=runtime.budget,
        )
    except UpstreamError as exc:
        done = _deliberations(ran)
        if not done:
            raise
        partial = Outcome(
            id=p.id,
            model=p.outer_model,
            text=None,
            finish_reason="error",
            tool_calls=[],
            usage=usage,
            loop=LoopResult(Turn(), [], usage, [], len(ran), server_calls=ran),
            deliberations=done,
            seconds=time.perf_counter() - started,
        )
        raise Unfinished(exc, partial) from exc
    turn = result.turn
    text = _Answer.joined(result.messages[len(p.body["messages"]) :]) or None
    finish = "tool_calls" if result.client_tool_calls else (turn.finish_reason or "stop")
    if text is None and finish not in _EMPTY_IS_TRUE:
        # An answer with nothing in it is a failure to report, not a 200 to trust.
        raise UpstreamError(
            f"{p.outer_model}: the model returned an empty answer "
            f"(finish_reason {turn.finish_reason!r})",
            502,
            p.outer_model,
        )
    deliberations = _deliberations(result.server_calls)
    return Outcome(
        id=p.id,
        model=p.outer_model,
        text=text,
        finish_reason=finish,
        tool_calls=list(result.client_tool_calls),
        usage=usage,
        loop=result,
        deliberations=deliberations,
        seconds=time.perf_counter() - started,
    )


def stream(
    p: Plan,
    runtime: Runtime,
    *,
    panel_text: bool = False,
    idle_s: float | None = None,
) -> AsyncGenerator[ev.Event | ev.Idle, None]:
    """Run a planned request, yielding its events as they happen (the answer streams),
    `IDLE` after every `idle_s` seconds without any, and `Completed` last.

    Closing the iterator early cancels the run and every upstream call it started.
    """

    async def work(emit: Callable[[ev.Event | ev.Idle], None]) -> None:
        outcome = await run(p, runtime, emit=emit, stream=True, panel_text=panel_text)
        emit(ev.Completed(outcome))

    return relay(work, idle_s=idle_s, idle_item=ev.IDLE)
