"""A deliberation's progress, read from the engine's typed event stream: a count that
only goes up, out of N+2 (each member finishing or failing, the analysis starting and
finishing), with a line saying what just happened. Notifications and the handle flow's
snapshots both read it; it knows nothing of MCP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from parley.engine import Event
from parley.fusion import events as ev


@dataclass
class Step:
    """One progress report: `done` of `total`, and what happened."""

    done: float
    total: int
    message: str


@dataclass
class Progress:
    """Counts a run's steps; `feed` returns a Step when an event is worth reporting."""

    members: int = 0
    finished: int = 0
    analysis_steps: int = 0
    started: float = field(default_factory=time.monotonic)
    last: Step | None = None

    @property
    def total(self) -> int:
        return self.members + 2

    @property
    def done(self) -> int:
        return self.finished + self.analysis_steps

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def feed(self, event: Event) -> Step | None:
        message: str | None = None
        if isinstance(event, ev.PanelAdded):
            self.members = max(self.members, event.index + 1)
            message = f"{event.model} started"
        elif isinstance(event, ev.PanelCompleted):
            self.finished += 1
            message = f"{event.model} answered in {event.seconds:.1f}s"
        elif isinstance(event, ev.PanelFailed):
            self.finished += 1
            message = f"{event.model} failed: {event.error}"
        elif isinstance(event, ev.AnalysisInProgress):
            self.analysis_steps = 1
            message = f"analysis started ({event.model})"
        elif isinstance(event, ev.AnalysisCompleted):
            self.analysis_steps = 2
            message = "analysis finished"
        if message is None:
            return None
        self.last = Step(self.done, self.total, message)
        return self.last

    def snapshot(self) -> dict[str, object]:
        """What a long-poll answers while the run goes on."""
        return {
            "members_done": self.finished,
            "members": self.members,
            "analysis": ("finished", "started", "waiting")[(2 - self.analysis_steps)],
            "elapsed_s": round(self.elapsed(), 1),
        }
