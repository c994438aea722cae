"""What the log keeps: plain records, built from a finished run or from progress events.

A run that was interrupted still has a record: the events it emitted say which panelists
finished and what they wrote, so nothing that finished is lost.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from parley.engine.outcome import Outcome
from parley.fusion import events as ev
from parley.fusion.panel import question_text
from parley.fusion.result import FusionResult
from parley.fusion.run import Deliberation


@dataclass
class PanelAnswer:
    """One panelist's answer as logged, with how long it took and what it spent."""

    model: str
    content: str
    seconds: float | None = None
    usage: dict[str, Any] | None = None


@dataclass
class DeliberationRecord:
    """One fusion run inside an exchange."""

    question: str
    panel: list[str]
    judge: str = ""
    status: str = "running"
    responses: list[PanelAnswer] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    analysis: dict[str, Any] | None = None
    failure_reason: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`logs show --json`)."""
        return asdict(self)


@dataclass
class Entry:
    """One exchange: a question, the deliberations it caused, and the final answer."""

    id: str
    conversation_id: str
    question: str
    model: str
    created_at: str = ""
    source: str = "cli"
    system: str | None = None
    answer: str = ""
    status: str = "ok"
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    cost: float | None = None
    seconds: float | None = None
    deliberations: list[DeliberationRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`logs show --json`)."""
        return asdict(self)


def from_deliberation(d: Deliberation) -> DeliberationRecord:
    """The record of a deliberation object, finished or not."""
    rec = DeliberationRecord(question_text(d.question), list(d.panel), d.judge)
    for i, r in enumerate(d.responses):
        if r is not None:
            spent = d.member_usage.get(i)
            rec.responses.append(
                PanelAnswer(
                    r.model,
                    r.content,
                    d.timings.get(f"panel:{i}"),
                    spent.to_wire() if spent is not None else None,
                )
            )
    rec.failed = [f.model_dump(exclude_none=True) for f in d.failed]
    rec.usage = d.usage.to_wire()
    rec.timings = dict(d.timings)
    result = d.result
    if result is None:
        rec.status = "interrupted"
        return rec
    rec.status = "interrupted" if result.failure_reason == "cancelled" else result.status
    rec.analysis = result.analysis.model_dump() if result.analysis else None
    rec.failure_reason = result.failure_reason
    rec.sources = [s.model_dump() for s in result.sources]
    return rec


class EventRecorder:
    """Builds deliberation records from progress events, as they arrive.

    The CLI feeds it every event so that, if the run is interrupted, the log still gets
    whatever finished; `seen` tells how many deliberations started.
    """

    def __init__(self) -> None:
        self.records: list[DeliberationRecord] = []
        self._started: float | None = None

    def __call__(self, event: object) -> None:
        if isinstance(event, ev.PanelAdded):
            running = self.records and self.records[-1].status == "running"
            # Members are added in panel order, so index 0 opens a new deliberation.
            if event.index == 0 or not running:
                self.records.append(DeliberationRecord("", []))
                self._started = time.perf_counter()
            self.records[-1].panel.append(event.model)
            return
        if not self.records:
            return
        rec = self.records[-1]
        if isinstance(event, ev.PanelCompleted):
            spent = event.usage.to_wire() if event.usage is not None else None
            rec.responses.append(PanelAnswer(event.model, event.content, event.seconds, spent))
            rec.timings[f"panel:{event.index}"] = event.seconds
        elif isinstance(event, ev.PanelFailed):
            failed: dict[str, Any] = {"model": event.model, "error": event.error}
            if event.status_code is not None:
                failed["status_code"] = event.status_code
            rec.failed.append(failed)
            rec.timings[f"panel:{event.index}"] = event.seconds
        elif isinstance(event, ev.AnalysisInProgress):
            rec.judge = event.model
        elif isinstance(event, ev.AnalysisCompleted):
            rec.analysis = event.analysis.model_dump() if event.analysis else None
            rec.failure_reason = event.failure_reason
        elif isinstance(event, ev.FusionCompleted):
            rec.status = event.result.status
            rec.failure_reason = event.result.failure_reason
            rec.sources = [s.model_dump() for s in event.result.sources]
            if self._started is not None:
                rec.timings["total"] = time.perf_counter() - self._started

    def interrupted(self) -> list[DeliberationRecord]:
        """The records, with any run still going marked as interrupted."""
        for rec in self.records:
            if rec.status == "running":
                rec.status = "interrupted"
        return self.records


def answer_of(outcome: Outcome) -> str:
    """The final answer's text."""
    return outcome.text or ""


def entry_from_outcome(
    outcome: Outcome,
    *,
    entry_id: str,
    conversation_id: str,
    question: str | list[dict[str, Any]],
    system: str | None = None,
    source: str = "cli",
    error: str | None = None,
) -> Entry:
    """The log entry of a finished exchange (the gateway passes the request's messages);
    with `error`, of one that failed after its deliberations finished."""
    return Entry(
        id=entry_id,
        conversation_id=conversation_id,
        question=question_text(question),
        model=outcome.model,
        source=source,
        system=system,
        answer=answer_of(outcome),
        usage=outcome.usage.to_wire(),
        cost=outcome.usage.cost,
        seconds=outcome.seconds,
        deliberations=[from_deliberation(d) for d in outcome.deliberations],
        status="error" if error else "ok",
        error=error,
    )


def from_result(result: FusionResult, judge: str = "") -> DeliberationRecord:
    """A record of a fusion result alone (as the FusionCompleted event carries it)."""
    return DeliberationRecord(
        question="",
        panel=[r.model for r in result.responses] + [f.model for f in result.failed_models],
        judge=judge,
        status=result.status,
        responses=[PanelAnswer(r.model, r.content) for r in result.responses],
        failed=[f.model_dump(exclude_none=True) for f in result.failed_models],
        analysis=result.analysis.model_dump() if result.analysis else None,
        failure_reason=result.failure_reason,
        sources=[s.model_dump() for s in result.sources],
    )
