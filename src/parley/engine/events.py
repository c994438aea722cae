"""The one typed event stream of a run: what the tool loop reports (the answer's text,
server tools starting and finishing), what a deliberation reports (panel, judge), and the
finished outcome last. The CLI's view, the gateway's streams and the log all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.engine.outcome import Outcome
from parley.fusion.events import FusionEvent
from parley.tools.events import LoopEvent


@dataclass(frozen=True)
class Completed:
    """The run finished; its outcome (the answer, the usage, the deliberations)."""

    outcome: Outcome


@dataclass(frozen=True)
class Idle:
    """Nothing happened for a while (a streaming face sends a heartbeat)."""


IDLE = Idle()

Event = LoopEvent | FusionEvent | Completed
