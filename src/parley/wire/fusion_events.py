"""Fusion progress as OpenRouter names and shapes it on the wire (`response.fusion_call.*`,
see `OutputFusionServerToolItem` and its stream events in OpenRouter's API reference)."""

from __future__ import annotations

from typing import Any

from parley.fusion import events as ev

IN_PROGRESS = "response.fusion_call.in_progress"

WIRE_TYPES: dict[type[Any], str] = {
    ev.PanelAdded: "response.fusion_call.panel.added",
    ev.PanelDelta: "response.fusion_call.panel.delta",
    ev.PanelReasoningDelta: "response.fusion_call.panel.reasoning.delta",
    ev.PanelToolCall: "response.fusion_call.panel.tool_call",
    ev.PanelCompleted: "response.fusion_call.panel.completed",
    ev.PanelFailed: "response.fusion_call.panel.failed",
    ev.AnalysisInProgress: "response.fusion_call.analysis.in_progress",
    ev.JudgeToolCall: "response.fusion_call.analysis.tool_call",
    ev.AnalysisCompleted: "response.fusion_call.analysis.completed",
    ev.FusionCompleted: "response.fusion_call.completed",
}


def wire_type(event: ev.FusionEvent) -> str:
    return WIRE_TYPES[type(event)]


def base(kind: str, item_id: str, sequence_number: int) -> dict[str, Any]:
    return {"type": kind, "item_id": item_id, "output_index": 0, "sequence_number": sequence_number}


def to_wire(event: ev.FusionEvent, item_id: str, sequence_number: int) -> dict[str, Any]:
    """The event as OpenRouter's stream carries it."""
    out = base(wire_type(event), item_id, sequence_number)
    if isinstance(event, ev.PanelAdded):
        out["model"] = event.model
    elif isinstance(event, ev.PanelDelta | ev.PanelReasoningDelta):
        out.update(model=event.model, delta=event.delta)
    elif isinstance(event, ev.PanelToolCall | ev.JudgeToolCall):
        out.update(model=event.model, tool=event.tool, arguments=event.arguments)
    elif isinstance(event, ev.PanelCompleted):
        out.update(model=event.model, content=event.content)
    elif isinstance(event, ev.PanelFailed):
        out.update(model=event.model, error=event.error)
        if event.status_code is not None:
            out["status_code"] = event.status_code
    elif isinstance(event, ev.AnalysisInProgress):
        out.update(analyst_model=event.model, judge_model=event.model)
    elif isinstance(event, ev.AnalysisCompleted):
        if event.analysis is not None:
            out["analysis"] = event.analysis.model_dump()
        if event.failure_reason:
            out["failure_reason"] = event.failure_reason
    elif isinstance(event, ev.FusionCompleted):
        # Beyond OpenRouter's required fields: why it failed, for a stream's reader.
        wire = event.result.to_wire()
        for key in ("failure_reason", "failed_models"):
            if key in wire:
                out[key] = wire[key]
    return out
