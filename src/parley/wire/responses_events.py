"""A run's events as a Responses API answer: output items in the order they started, and
(for a stream) every lifecycle event the SDKs need, in the order they need them.

    build = ResponseBuild(shape)
    build.start()                       # response.created, response.in_progress
    for event in run: build.feed(event) # items added/done, fusion_call.*, text deltas
    build.finish(outcome)               # message done, function calls, response.completed
    build.events                        # the stream's events so far (drained by the writer)
    build.response                      # the last snapshot (the non-streamed answer)

No step of the lifecycle is skipped: every item is added before its content and done
before the response completes (agents drop a reply otherwise), `sequence_number` rises
by one per event, and the fusion events are named and shaped as OpenRouter's.

A failed panelist must not end anyone's stream: the OpenAI SDKs raise on any event with a
truthy top-level `error`, while OpenRouter's SDK requires `panel.failed` to carry an
`error` string. Both accept an empty string, so `error` is `""` and the reason travels in
`message` (and `status_code`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.engine import events as ev
from parley.engine.outcome import Outcome
from parley.fusion import events as fusion_ev
from parley.models.base import Source, ToolCall
from parley.tools import events as loop_ev
from parley.usage import Usage
from parley.wire.fusion_events import WIRE_TYPES
from parley.wire.responses_output import (
    ResponseShape,
    function_call_item,
    fusion_item,
    fusion_item_unrun,
    message_item,
    new_id,
    output_text,
    server_tool_item,
    usage,
)

FUSION = "fusion"
# The fusion events OpenRouter defines for Responses; the tool-call ones are Parley's.
_FUSION_EVENTS = {k: v for k, v in WIRE_TYPES.items() if not v.endswith(".tool_call")}


@dataclass
class _Open:
    """An item still running: where it sits and what it is."""

    index: int
    id: str
    kind: str  # "fusion", "message" or a server tool's name
    # A server tool's arguments: its finished item is built again from them.
    arguments: dict[str, Any] = field(default_factory=dict)


class ResponseBuild:
    """Builds one response from a run's events; see the module docstring."""

    def __init__(self, shape: ResponseShape) -> None:
        self.shape = shape
        self.output: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._seq = 0
        self._tools: dict[str, _Open] = {}  # by call id
        self._fusion: _Open | None = None
        self._message: _Open | None = None
        self._text: list[str] = []
        self.response: dict[str, Any] = shape.snapshot("in_progress", [])

    # --- the lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._emit("response.created", response=self._snapshot("in_progress"))
        self._emit("response.in_progress", response=self._snapshot("in_progress"))

    def feed(self, event: ev.Event | ev.Idle) -> None:
        """One event of the run."""
        if isinstance(event, loop_ev.ToolStarted):
            self._tool_started(event)
        elif isinstance(event, loop_ev.ToolFinished):
            self._tool_finished(event)
        elif isinstance(event, loop_ev.TextDelta):
            self._text_delta(event.text)
        elif isinstance(event, fusion_ev.FusionCompleted):
            self._fusion_completed(event)
        elif isinstance(event, fusion_ev.FusionEvent):
            self._fusion_event(event)

    def finish(self, outcome: Outcome) -> None:
        """The run ended: close the answer, add the client's function calls, complete."""
        self.complete(
            outcome.text,
            outcome.tool_calls,
            outcome.usage,
            outcome.finish_reason,
            _sources(outcome),
        )

    def complete(
        self,
        text: str | None,
        tool_calls: list[ToolCall],
        spent: Usage,
        finish_reason: str,
        sources: list[Source],
    ) -> None:
        """`finish` from its parts (a fake upstream answering Responses has no outcome)."""
        if text is not None and self._message is None:
            self._open_message()
            self._text_delta(text)
        if self._message is not None:
            self._close_message(sources)
        for call in tool_calls:
            item = _Open(len(self.output), new_id("fc"), "function_call")
            self._add(function_call_item(item.id, call, "in_progress"))
            at = {"item_id": item.id, "output_index": item.index}
            self._emit("response.function_call_arguments.delta", **at, delta=call.arguments)
            self._emit(
                "response.function_call_arguments.done",
                **at,
                arguments=call.arguments,
                name=call.name,
            )
            self._done(item.index, function_call_item(item.id, call, "completed"))
        if finish_reason == "length":
            final = self._snapshot(
                "incomplete", usage(spent), incomplete={"reason": "max_output_tokens"}
            )
            self._emit("response.incomplete", response=final)
        else:
            self._emit("response.completed", response=self._snapshot("completed", usage(spent)))

    def fail(self, code: str, message: str, spent: Usage | None = None) -> None:
        """The run failed: what finished stays in the output (a paid-for deliberation
        included), what was running is marked incomplete."""
        for item in self.output:
            if item.get("status") == "in_progress":
                item["status"] = "incomplete"
        error = {"code": code, "message": message}
        final = self._snapshot("failed", usage(spent) if spent else None, error=error)
        self._emit("response.failed", response=final)

    # --- items --------------------------------------------------------------------------

    def _tool_started(self, event: loop_ev.ToolStarted) -> None:
        if event.name == FUSION:
            item = _Open(len(self.output), new_id("st"), FUSION)
            # One fusion call deliberates per turn, the first; the fusion events that
            # follow are its. A second one in the same turn is capped at once.
            if self._fusion is None:
                self._fusion = item
            self._add(fusion_item(item.id, None))
            self._emit("response.fusion_call.in_progress", **self._at(item))
        else:
            item = _Open(len(self.output), new_id("st"), event.name, event.arguments)
            self._add(server_tool_item(item.id, event.name, event.arguments, "in_progress"))
        self._tools[event.call_id] = item

    def _tool_finished(self, event: loop_ev.ToolFinished) -> None:
        item = self._tools.pop(event.call_id, None)
        if item is None:
            return
        current = self.output[item.index]
        if current.get("status") != "in_progress":
            return  # a fusion item closed by its result already
        status = "completed" if event.ok else "incomplete"
        if item.kind == FUSION:
            # No result reached it: it never deliberated (capped, or no question). Its
            # lifecycle still ends as a deliberation's does.
            self._emit("response.fusion_call.completed", **self._at(item))
            self._done(item.index, fusion_item_unrun(item.id, event.output))
            if item is self._fusion:
                self._fusion = None
        else:
            final = server_tool_item(item.id, item.kind, item.arguments, status, event.output)
            self._done(item.index, final)

    def _fusion_event(self, event: fusion_ev.FusionEvent) -> None:
        kind = _FUSION_EVENTS.get(type(event))
        item = self._fusion
        if kind is None or item is None:
            return
        at = self._at(item)
        if isinstance(event, fusion_ev.PanelAdded):
            self._emit(kind, **at, model=event.model)
        elif isinstance(event, fusion_ev.PanelDelta | fusion_ev.PanelReasoningDelta):
            self._emit(kind, **at, model=event.model, delta=event.delta)
        elif isinstance(event, fusion_ev.PanelCompleted):
            self._emit(kind, **at, model=event.model, content=event.content)
        elif isinstance(event, fusion_ev.PanelFailed):
            extra = {} if event.status_code is None else {"status_code": event.status_code}
            self._emit(kind, **at, model=event.model, error="", message=event.error, **extra)
        elif isinstance(event, fusion_ev.AnalysisInProgress):
            self._emit(kind, **at, analyst_model=event.model, judge_model=event.model)
        elif isinstance(event, fusion_ev.AnalysisCompleted) and event.analysis is not None:
            self._emit(kind, **at, analysis=event.analysis.model_dump())

    def _fusion_completed(self, event: fusion_ev.FusionCompleted) -> None:
        item = self._fusion
        if item is None:
            return
        self._emit("response.fusion_call.completed", **self._at(item))
        self._done(item.index, fusion_item(item.id, event.result))

    def _open_message(self) -> None:
        item = _Open(len(self.output), new_id("msg"), "message")
        self._message = item
        self._add(message_item(item.id, None, "in_progress", []))
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        self._emit("response.content_part.added", **self._at(item), content_index=0, part=part)

    def _text_delta(self, text: str) -> None:
        if not text:
            return
        if self._message is None:
            self._open_message()
        assert self._message is not None
        self._text.append(text)
        at = self._at(self._message)
        self._emit("response.output_text.delta", **at, content_index=0, delta=text, logprobs=[])

    def _close_message(self, sources: list[Source]) -> None:
        item = self._message
        assert item is not None
        text = "".join(self._text)
        at = self._at(item)
        self._emit("response.output_text.done", **at, content_index=0, text=text, logprobs=[])
        part = output_text(text, sources)
        self._emit("response.content_part.done", **at, content_index=0, part=part)
        self._done(item.index, message_item(item.id, text, "completed", sources))
        self._message = None

    # --- plumbing -----------------------------------------------------------------------

    def _add(self, item: dict[str, Any]) -> None:
        self.output.append(item)
        self._emit("response.output_item.added", output_index=len(self.output) - 1, item=item)

    def _done(self, index: int, item: dict[str, Any]) -> None:
        self.output[index] = item
        self._emit("response.output_item.done", output_index=index, item=item)

    @staticmethod
    def _at(item: _Open) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index}

    def _snapshot(
        self, status: str, spent: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        self.response = self.shape.snapshot(
            status, [dict(i) for i in self.output], usage=spent, **kw
        )
        return self.response

    def _emit(self, kind: str, **payload: Any) -> None:
        self._seq += 1
        self.events.append({"type": kind, "sequence_number": self._seq, **payload})


def _sources(outcome: Outcome) -> list[Source]:
    """What the answer may cite: pages the outer loop and its deliberations retrieved."""
    seen: dict[str, Source] = {}
    for s in outcome.loop.sources:
        seen.setdefault(s.url, s)
    return list(seen.values())
