"""Running a planned request: the outer model's tool loop (fusion included), and the
response with usage summed over every call; `stream()` is the same run as an iterator."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from parley import _constants as C
from parley.engine.plan import Plan
from parley.engine.relay import relay
from parley.errors import UpstreamError
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.fusion.tool import FusionTool
from parley.models.base import last_user_text
from parley.runtime import Runtime
from parley.tools.base import ServerTool
from parley.tools.loop import LoopHooks, LoopResult, run_tool_loop
from parley.usage import Usage
from parley.wire.chat import ChatChoice, ChatMessage, ChatResponse

# Between the text of two outer turns (text, a server tool call, more text).
TURN_SEPARATOR = "\n\n"
# Finish reasons under which an empty answer is the truth rather than a fault.
_EMPTY_IS_TRUE = frozenset({"tool_calls", "length", "content_filter"})


@dataclass
class ChatOutcome:
    """A finished request: the Chat Completions response and what went into it."""

    response: dict[str, Any]
    usage: Usage
    loop: LoopResult
    deliberations: list[Deliberation] = field(default_factory=list)
    seconds: float = 0.0


class _Answer:
    """The answer's text across outer turns.

    A model may write before it calls a server tool ("Let me ask a panel."), then answer.
    Streamed text cannot be taken back, and holding each turn back until it is known not
    to end in a tool call would hold back the whole answer; so the answer is every outer
    turn's text, joined by TURN_SEPARATOR, both streamed and in the response.
    """

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self._on_text = on_text
        self._said = False
        self._new_turn = False

    def turn(self, step: int) -> None:
        self._new_turn = True

    def text(self, delta: str) -> None:
        if not delta:
            return
        if self._new_turn and self._said:
            self._on_text(TURN_SEPARATOR)
        self._new_turn = False
        self._said = True
        self._on_text(delta)

    @staticmethod
    def joined(messages: list[dict[str, Any]]) -> str:
        """The same text, from the loop's new messages."""
        parts = (m.get("content") for m in messages if m.get("role") == "assistant")
        return TURN_SEPARATOR.join(p for p in parts if isinstance(p, str) and p)


async def run(
    p: Plan,
    runtime: Runtime,
    *,
    on_text: Callable[[str], None] | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    on_tool: Callable[[str, dict[str, Any]], None] | None = None,
) -> ChatOutcome:
    """Run a planned request to its final answer."""
    started = time.perf_counter()
    runtime = runtime.for_request()
    tools: list[ServerTool] = runtime.server_tools(p.server_specs) if p.server_specs else []
    fusion_tool: FusionTool | None = None
    if p.fusion is not None:
        fusion_tool = FusionTool(
            runtime,
            p.fusion,
            outer_model=p.outer_model,
            depth=p.depth,
            on_event=on_event,
            fallback_question=last_user_text(p.request.messages),
            checked=True,  # by plan()
        )
        tools.append(fusion_tool)
    headers = {C.DEPTH_HEADER: str(p.depth)} if p.depth else {}
    answer = _Answer(on_text) if on_text is not None else None
    usage = Usage()
    result = await run_tool_loop(
        runtime.router.resolve(p.outer_model),
        p.body,
        tools,
        max_steps=p.max_steps,
        headers=headers,
        hooks=LoopHooks(
            on_text=answer.text if answer else None,
            on_tool=on_tool,
            on_turn=answer.turn if answer else None,
        ),
        client_tools=p.client_tools,
        first_tool_choice=p.first_tool_choice,
        tool_choice=p.tool_choice,
        stop_when=p.stop_when,
        retire_after_use=frozenset({C.FUSION_TOOL}),
        usage=usage,
    )
    turn = result.turn
    message = turn.message()
    message["content"] = _Answer.joined(result.messages[len(p.body["messages"]) :]) or None
    finish = "tool_calls" if result.client_tool_calls else (turn.finish_reason or "stop")
    if message["content"] is None and finish not in _EMPTY_IS_TRUE:
        # An answer with nothing in it is a failure to report, not a 200 to trust.
        raise UpstreamError(
            f"{p.outer_model}: the model returned an empty answer "
            f"(finish_reason {turn.finish_reason!r})",
            502,
            p.outer_model,
        )
    response = ChatResponse(
        id=f"gen-parley-{uuid.uuid4().hex[:24]}",
        object="chat.completion",
        created=int(time.time()),
        model=p.outer_model,
        choices=[ChatChoice(index=0, message=ChatMessage(**message), finish_reason=finish)],
        usage=usage.to_wire(),
    ).model_dump(exclude_unset=True)
    return ChatOutcome(
        response,
        usage,
        result,
        fusion_tool.deliberations if fusion_tool else [],
        time.perf_counter() - started,
    )


@dataclass(frozen=True)
class ToolStarted:
    """The outer model called a server tool; it is running now."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Idle:
    """Nothing happened for `idle_s` seconds (a streaming client wants a heartbeat)."""


IDLE = Idle()

StreamItem = str | ToolStarted | ev.Event | ChatOutcome | Idle


def stream(
    p: Plan, runtime: Runtime, *, events: bool = False, idle_s: float | None = None
) -> AsyncGenerator[StreamItem, None]:
    """Run a planned request, yielding the answer's text deltas (`str`), server tools as
    they start, fusion progress events (with `events`), `IDLE` after every `idle_s`
    seconds without any of these, and last the finished ChatOutcome.

    Closing the iterator early cancels the run and every upstream call it started.
    """

    async def work(emit: Callable[[StreamItem], None]) -> None:
        outcome = await run(
            p,
            runtime,
            on_text=emit,
            # Without listeners the panel runs unstreamed, which costs less.
            on_event=emit if events else None,
            on_tool=lambda name, args: emit(ToolStarted(name, args)),
        )
        emit(outcome)

    return relay(work, idle_s=idle_s, idle_item=IDLE)
