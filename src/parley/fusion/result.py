"""What a deliberation returns to the outer model (contract section 4): the judge's
analysis, the panel's answers, who failed and why, and the sources."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from parley.models.base import Source
from parley.validation import Passthrough


class Stance(Passthrough):
    model: str
    stance: str


class Contradiction(Passthrough):
    topic: str
    stances: list[Stance]


class PartialCoverage(Passthrough):
    models: list[str]
    point: str


class UniqueInsight(Passthrough):
    model: str
    insight: str


class Analysis(BaseModel):
    """The judge's map of the panel: all five keys are required."""

    consensus: list[str]
    contradictions: list[Contradiction]
    partial_coverage: list[PartialCoverage]
    unique_insights: list[UniqueInsight]
    blind_spots: list[str]


class PanelResponse(BaseModel):
    model: str
    content: str


class FailedModel(BaseModel):
    model: str
    error: str
    status_code: int | None = None


FailureReason = Literal[
    "all_panels_failed",
    "rate_limited",
    "insufficient_credits",
    "invalid_model",
    "cancelled",
    "fusion_invocation_capped",
    "unexpected_error",
    "judge_upstream_error",
    "judge_empty_completion",
    "judge_not_valid_json",
    "judge_schema_mismatch",
]


class FusionResult(BaseModel):
    """What the fusion tool returns to the outer model (contract section 4)."""

    status: Literal["ok", "error"]
    analysis: Analysis | None = None
    responses: list[PanelResponse] = Field(default_factory=list)
    failed_models: list[FailedModel] = Field(default_factory=list)
    failure_reason: FailureReason | None = None
    error: str | None = None
    sources: list[Source] = Field(default_factory=list)
    # Parley's: "none" when searching was asked for and no member could (no backend
    # configured, none of them served by OpenRouter, keyless metasearch not installed).
    search: Literal["none"] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape: optional parts are omitted, not null."""
        out: dict[str, Any] = {"status": self.status}
        if self.analysis is not None:
            out["analysis"] = self.analysis.model_dump(exclude_none=True)
        if self.status == "ok" or self.responses:
            out["responses"] = [r.model_dump() for r in self.responses]
        if self.failed_models:
            out["failed_models"] = [f.model_dump(exclude_none=True) for f in self.failed_models]
        if self.failure_reason is not None:
            out["failure_reason"] = self.failure_reason
        if self.error is not None:
            out["error"] = self.error
        if self.sources:
            out["sources"] = [s.model_dump() for s in self.sources]
        if self.search is not None:
            out["search"] = self.search
        return out
