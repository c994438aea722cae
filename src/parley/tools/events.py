"""What the tool loop reports as it runs: the model's text and reasoning as written, each
model turn as it starts, and each server tool as it starts and finishes.

Every level of a run (the outer model, each panelist, the judge) runs the same loop and
hands it one listener; the level above wraps what it hears (a panelist's text becomes a
`PanelDelta`), so one typed stream reaches the faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TurnStarted:
    """A model turn begins; `step` is the number of tool steps taken before it."""

    step: int


@dataclass(frozen=True)
class TextDelta:
    """Text the model wrote."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """Reasoning the model streamed (models that think out loud)."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    """The model called a server tool; it is running now."""

    name: str
    arguments: dict[str, Any]
    call_id: str = ""


@dataclass(frozen=True)
class ToolFinished:
    """A server tool call ended: `ok` is false when it failed (the model reads why);
    `output` is what the model read (a face shows what it says: the time, the page)."""

    name: str
    call_id: str
    ok: bool
    seconds: float
    output: str = ""


LoopEvent = TurnStarted | TextDelta | ReasoningDelta | ToolStarted | ToolFinished
