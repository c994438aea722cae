"""What the MCP tools return: a top-level `status` first, so a degraded answer never reads
as a full one, then the analysis in the fusion analysis schema and a short synthesis."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from parley.engine import Outcome
from parley.fusion.result import Analysis, FailedModel, FusionResult, PanelResponse

Status = Literal["complete", "degraded", "partial"]
RESOURCE_PREFIX = "parley://deliberations/"


class DeliberationOutput(BaseModel):
    """One finished deliberation, as `deliberate` and `deliberation_result` return it."""

    status: Status = Field(
        description="complete: every member answered and the judge mapped them; degraded: "
        "some members are missing (see failed_models); partial: no analysis"
    )
    deliberation_id: str
    analysis: Analysis | None = None
    synthesis: str = Field(default="", description="the outer model's short answer")
    answered: list[str] = Field(default_factory=list, description="members that answered")
    failed_models: list[FailedModel] = Field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    resource: str = Field(default="", description="the full record, panel answers included")
    log_id: str | None = Field(default=None, description="the `parley logs` entry")
    responses: list[PanelResponse] | None = Field(
        default=None, description="every member's full answer (detail: full only)"
    )


def status_of(result: FusionResult | None) -> Status:
    if result is None or result.status != "ok" or result.analysis is None:
        return "partial"
    return "degraded" if result.failed_models else "complete"


def output_of(
    outcome: Outcome, deliberation_id: str, *, full: bool, log_id: str | None
) -> DeliberationOutput:
    """The tool result of a finished run; the panel's full text only when asked for
    (hosts cap a tool's output near 25k tokens)."""
    result = outcome.deliberations[-1].result if outcome.deliberations else None
    if result is None:
        error: str | None = "the outer model did not deliberate"
    else:
        error = result.error or (
            f"the judge failed: {result.failure_reason}" if result.failure_reason else None
        )
    return DeliberationOutput(
        status=status_of(result),
        deliberation_id=deliberation_id,
        analysis=result.analysis if result else None,
        synthesis=outcome.text or "",
        answered=[r.model for r in result.responses] if result else [],
        failed_models=list(result.failed_models) if result else [],
        error=error,
        seconds=round(outcome.seconds, 2),
        resource=RESOURCE_PREFIX + deliberation_id,
        log_id=log_id,
        responses=list(result.responses) if result and full else None,
    )
