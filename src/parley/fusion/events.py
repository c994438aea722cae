"""What a deliberation reports as it runs; the CLI, the gateway, the log and the web page
read these (OpenRouter's names for them on the wire: `parley.wire.fusion_events`).

Panel events carry the member's model id and its index in the panel; the judge's own tool
calls are `JudgeToolCall`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.fusion.result import Analysis, FusionResult
from parley.usage import Usage


@dataclass(frozen=True)
class PanelAdded:
    model: str
    index: int


@dataclass(frozen=True)
class PanelDelta:
    model: str
    index: int
    delta: str


@dataclass(frozen=True)
class PanelReasoningDelta:
    """Reasoning text a panelist streamed (models that think out loud)."""

    model: str
    index: int
    delta: str


@dataclass(frozen=True)
class PanelToolCall:
    """A panelist started a server tool (searching, fetching)."""

    model: str
    index: int
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class PanelCompleted:
    """A panelist answered; `usage` is what its own calls spent (the web page shows it
    per column; the OpenRouter wire shapes leave it out)."""

    model: str
    index: int
    content: str
    seconds: float
    usage: Usage | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PanelFailed:
    model: str
    index: int
    error: str
    status_code: int | None
    seconds: float


@dataclass(frozen=True)
class AnalysisInProgress:
    model: str


@dataclass(frozen=True)
class JudgeToolCall:
    """The judge started a server tool (checking a disputed fact)."""

    model: str
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class AnalysisCompleted:
    analysis: Analysis | None
    failure_reason: str | None


@dataclass(frozen=True)
class FusionCompleted:
    result: FusionResult


FusionEvent = (
    PanelAdded
    | PanelDelta
    | PanelReasoningDelta
    | PanelToolCall
    | PanelCompleted
    | PanelFailed
    | AnalysisInProgress
    | JudgeToolCall
    | AnalysisCompleted
    | FusionCompleted
)
# The name the public API has always used for these.
Event = FusionEvent
