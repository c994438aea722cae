"""One request end to end, whichever face it came from: `plan()` resolves the model, the
plugins and the server tools and checks them; `run()` runs the outer model's tool loop
(fusion included) to an `Outcome`; `stream()` is the same run as an iterator of events
(`parley.engine.events`), the outcome last. A run that fails after a deliberation
finished raises `Unfinished`, which keeps what was paid for.
"""

from parley.engine.events import IDLE, Completed, Event, Idle
from parley.engine.outcome import Outcome, Unfinished
from parley.engine.plan import Plan, plan
from parley.engine.request import Request
from parley.engine.run import run, stream

__all__ = [
    "IDLE",
    "Completed",
    "Event",
    "Idle",
    "Outcome",
    "Plan",
    "Request",
    "Unfinished",
    "plan",
    "run",
    "stream",
]
