"""Typed progress events of a deliberation; the CLI, the gateway and the web page read these.

`wire_type` follows OpenRouter's event names (`response.fusion_call.*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley.fusion.result import Analysis, FusionResult


@dataclass(frozen=True)
class PanelAdded:
    model: str
    index: int
    wire_type = "response.fusion_call.panel.added"


@dataclass(frozen=True)
class PanelDelta:
    model: str
    index: int
    delta: str
    wire_type = "response.fusion_call.panel.delta"


@dataclass(frozen=True)
class PanelReasoningDelta:
    """Reasoning text a panelist streamed (models that think out loud)."""

    model: str
    index: int
    delta: str
    wire_type = "response.fusion_call.panel.reasoning.delta"


@dataclass(frozen=True)
class PanelToolCall:
    """A panelist or the judge started a server tool (searching, fetching)."""

    model: str
    index: int
    tool: str
    arguments: dict[str, Any]
    wire_type = "response.fusion_call.panel.tool_call"


@dataclass(frozen=True)
class PanelCompleted:
    model: str
    index: int
    content: str
    seconds: float
    wire_type = "response.fusion_call.panel.completed"


@dataclass(frozen=True)
class PanelFailed:
    model: str
    index: int
    error: str
    status_code: int | None
    seconds: float
    wire_type = "response.fusion_call.panel.failed"


@dataclass(frozen=True)
class AnalysisInProgress:
    model: str
    wire_type = "response.fusion_call.analysis.in_progress"


@dataclass(frozen=True)
class AnalysisCompleted:
    analysis: Analysis | None
    failure_reason: str | None
    wire_type = "response.fusion_call.analysis.completed"


@dataclass(frozen=True)
class FusionCompleted:
    result: FusionResult
    wire_type = "response.fusion_call.completed"


Event = (
    PanelAdded
    | PanelDelta
    | PanelReasoningDelta
    | PanelToolCall
    | PanelCompleted
    | PanelFailed
    | AnalysisInProgress
    | AnalysisCompleted
    | FusionCompleted
)


def to_wire(event: Event, item_id: str, sequence_number: int) -> dict[str, Any]:
    """The event as OpenRouter's stream carries it."""
    out: dict[str, Any] = {
        "type": event.wire_type,
        "item_id": item_id,
        "output_index": 0,
        "sequence_number": sequence_number,
    }
    if isinstance(event, PanelAdded):
        out["model"] = event.model
    elif isinstance(event, PanelDelta | PanelReasoningDelta):
        out.update(model=event.model, delta=event.delta)
    elif isinstance(event, PanelToolCall):
        out.update(model=event.model, tool=event.tool, arguments=event.arguments)
    elif isinstance(event, PanelCompleted):
        out.update(model=event.model, content=event.content)
    elif isinstance(event, PanelFailed):
        out.update(model=event.model, error=event.error)
        if event.status_code is not None:
            out["status_code"] = event.status_code
    elif isinstance(event, AnalysisInProgress):
        out.update(analyst_model=event.model, judge_model=event.model)
    elif isinstance(event, AnalysisCompleted):
        if event.analysis is not None:
            out["analysis"] = event.analysis.model_dump()
        if event.failure_reason:
            out["failure_reason"] = event.failure_reason
    elif isinstance(event, FusionCompleted):
        # Beyond OpenRouter's required fields: why it failed, for a stream's reader.
        wire = event.result.to_wire()
        for key in ("failure_reason", "failed_models"):
            if key in wire:
                out[key] = wire[key]
    return out
