"""The one tool loop, for the outer model, every panelist and the judge.

Offer server tools as functions, run the calls the model makes, append the results, repeat
until the model answers in text or the step budget is spent; then one last turn with tools
disabled, so the answer always ends in text rather than an unfinished tool call.

Progress goes to one listener as `parley.tools.events` (turns, text, reasoning, tools).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parley import _constants as C
from parley.models.base import (
    ChatModel,
    Delta,
    Source,
    ToolCall,
    Turn,
    parse_arguments,
    run_turn,
)
from parley.tools import events as ev
from parley.tools.base import ServerTool, ToolOutput, strip_tool_prefix
from parley.tools.budget import Budget, exceeded
from parley.usage import Usage

# The last turn's request, once the step budget is spent or a stop condition fired.
BUDGET_SPENT = (
    "You have used all the tool calls you may make. Answer now, in text, from what you "
    "have found so far; do not call any tool."
)

Listener = Callable[[ev.LoopEvent], None]


@dataclass
class ServerCall:
    """A server tool call the loop ran, and what it produced."""

    call: ToolCall
    output: ToolOutput


@dataclass
class LoopResult:
    turn: Turn
    messages: list[dict[str, Any]]
    usage: Usage
    sources: list[Source]
    steps: int
    # Calls to the client's own function tools: the loop stops and hands them back.
    client_tool_calls: list[ToolCall] = field(default_factory=list)
    # Every server tool call run, in order (faces list them; fusion's carry their record).
    server_calls: list[ServerCall] = field(default_factory=list)


@dataclass
class StopWhen:
    """`stop_server_tools_when` conditions; any one firing ends the loop (OR)."""

    conditions: list[dict[str, Any]] = field(default_factory=list)

    def fired(self, steps: int, usage: Usage, turn: Turn, called: set[str]) -> bool:
        for c in self.conditions:
            kind = c.get("type")
            if kind == "step_count_is" and steps >= int(c.get("step_count", 0)):
                return True
            # Named as the model calls it (`datetime`) or as the request typed it
            # (`openrouter:datetime`).
            if kind == "has_tool_call" and strip_tool_prefix(str(c.get("tool_name"))) in called:
                return True
            if exceeded(c, usage):
                return True
            if kind == "finish_reason_is" and turn.finish_reason == c.get("reason"):
                return True
        return False


def _canonical(name: str, by_name: Mapping[str, ServerTool]) -> str:
    """A server tool's own name for what a model called it: some models call a tool by
    its request type (`openrouter:fusion`) or a mangled form (`openrouter_fusion`)."""
    if name in by_name:
        return name
    for prefix in C.TOOL_PREFIXES:
        for p in (prefix, prefix[:-1] + "_"):
            if name.startswith(p) and name[len(p) :] in by_name:
                return name[len(p) :]
    return name


def _relay_delta(emit: Listener) -> Callable[[Delta], None]:
    def on_delta(delta: Delta) -> None:
        if delta.reasoning:
            emit(ev.ReasoningDelta(delta.reasoning))
        if delta.text:
            emit(ev.TextDelta(delta.text))

    return on_delta


def _ignore(event: ev.LoopEvent) -> None:
    return None


async def run_tool_loop(
    model: ChatModel,
    body: dict[str, Any],
    tools: Sequence[ServerTool],
    *,
    max_steps: int,
    headers: Mapping[str, str],
    emit: Listener | None = None,
    stream: bool = False,
    client_tools: Sequence[dict[str, Any]] = (),
    first_tool_choice: str | dict[str, Any] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    stop_when: StopWhen | None = None,
    retire_after_use: frozenset[str] = frozenset(),
    usage: Usage | None = None,
    server_calls: list[ServerCall] | None = None,
    budget: Budget | None = None,
) -> LoopResult:
    """Run `model` to a text answer; `body` holds messages and sampling fields.

    `stream`: the model's turns stream, and their text and reasoning reach `emit` as they
    are written (else only turns and tools are reported). `retire_after_use` names tools
    withdrawn from offer once called (those a kind declares `once_per_turn`). `usage`,
    when given, accumulates every call, so a caller keeps the sums if the loop raises;
    `server_calls`, when given, collects the server tool calls that ran, likewise (a
    deliberation paid for stays readable when a later turn fails). `budget`, the
    request's, caps its upstream calls and stops server tools once its limits are spent.
    """
    emit = emit or _ignore
    on_delta = _relay_delta(emit) if stream else None
    by_name = {t.name: t for t in tools}
    client_names = {t.get("function", {}).get("name") for t in client_tools}
    messages = list(body.get("messages") or [])
    usage = usage if usage is not None else Usage()
    sources: list[Source] = []
    server_calls = server_calls if server_calls is not None else []
    called: set[str] = set()
    steps = 0
    stopped = False
    while True:
        offered = [t.definition() for t in tools if t.name not in called & retire_after_use]
        offered += list(client_tools)
        final = stopped or steps >= max_steps or (budget is not None and budget.spent_out())
        req = {k: v for k, v in body.items() if k not in ("tools", "tool_choice", "messages")}
        req["messages"] = list(messages)  # the model may keep it; we go on appending
        if offered and not final:
            req["tools"] = offered
            choice = first_tool_choice if steps == 0 and first_tool_choice else tool_choice
            if choice is not None:
                req["tool_choice"] = choice
        elif client_tools and final:
            # Client tools stay callable after the server budget is spent: only ours stop.
            req["tools"] = list(client_tools)
        if final and steps and "tools" not in req:
            req["messages"].append({"role": "user", "content": BUDGET_SPENT})
        emit(ev.TurnStarted(steps))
        if budget is not None:
            budget.take_call()
        turn = await run_turn(model, req, headers, on_delta)
        usage.add_upstream(turn.usage)
        if budget is not None:
            budget.spend(turn.usage)
        sources.extend(turn.citations)
        calls = turn.tool_calls if not final or client_tools else []
        if not calls:
            if final and turn.tool_calls and not client_tools:
                turn.tool_calls = []  # a model that ignored "no tools": keep its text only
            messages.append(turn.message())
            return LoopResult(turn, messages, usage, sources, steps, server_calls=server_calls)
        theirs = [c for c in calls if c.name in client_names]
        for c in calls:
            if c.name not in client_names:
                c.name = _canonical(c.name, by_name)
        if theirs or final:
            turn.tool_calls = theirs
            messages.append(turn.message())
            return LoopResult(turn, messages, usage, sources, steps, theirs, server_calls)
        messages.append(turn.message())
        outputs = await asyncio.gather(*(_execute(c, by_name, emit) for c in calls))
        for call, out in zip(calls, outputs, strict=True):
            called.add(call.name)
            if call.name in by_name:
                usage.tool_calls_requested += 1
                if out.ok:
                    usage.tool_calls_executed += 1
                if out.web_search:
                    usage.web_search_requests += 1
            if out.usage is not None:
                usage.merge(out.usage)
            sources.extend(out.sources)
            if call.name in by_name:
                server_calls.append(ServerCall(call, out))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": out.content})
        steps += 1
        if stop_when and stop_when.fired(steps, usage, turn, called):
            stopped = True


async def _execute(call: ToolCall, by_name: Mapping[str, ServerTool], emit: Listener) -> ToolOutput:
    tool = by_name.get(call.name)
    if tool is None:
        return ToolOutput.error(f"unknown tool {call.name!r}; available: {', '.join(by_name)}")
    args = parse_arguments(call.arguments)
    if args is None:
        return ToolOutput.error(f"arguments for {call.name} are not a JSON object")
    emit(ev.ToolStarted(call.name, args, call.id))
    started = time.perf_counter()
    try:
        out = await tool.run(args)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a tool's bug must not take the whole request down
        out = ToolOutput.error(f"{call.name} failed: {type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    emit(ev.ToolFinished(call.name, call.id, out.ok, seconds, out.content))
    return out
