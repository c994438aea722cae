"""The fusion tool's parameters (`tools[].parameters`, contract section 2)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, field_validator, model_validator

from parley import _constants as C
from parley.errors import InvalidParameter
from parley.tools.base import ServerToolSpec
from parley.validation import Strict, parse_or_raise


class Reasoning(Strict):
    effort: Literal["max", "xhigh", "high", "medium", "low", "minimal", "none"] | None = None
    max_tokens: int | None = Field(default=None, ge=0, strict=True)


class FusionParams(Strict):
    """`tools[].parameters` of the fusion server tool (contract section 2)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    analysis_models: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("analysis_models", "models"),
        min_length=C.PANEL_MIN,
        max_length=C.PANEL_MAX,
    )
    model: str | None = None
    max_tool_calls: int = Field(
        default=C.INNER_MAX_TOOL_CALLS_DEFAULT,
        ge=C.INNER_MAX_TOOL_CALLS_MIN,
        le=C.INNER_MAX_TOOL_CALLS_MAX,
        strict=True,  # `true` or "8" is a client bug to report, not a number to guess
    )
    max_completion_tokens: int | None = Field(default=None, ge=1, strict=True)
    reasoning: Reasoning | None = None
    temperature: float | None = Field(
        default=None, ge=C.TEMPERATURE_MIN, le=C.TEMPERATURE_MAX, strict=True
    )
    tools: list[ServerToolSpec] | None = Field(default=None, max_length=C.INNER_TOOLS_MAX)
    # Accepted for OpenRouter compatibility; prompt caching is the upstream's business.
    cache_control: dict[str, Any] | None = None
    # Parley's own (other servers ignore them): the panel waits at most `deadline_s`
    # seconds, or until `quorum` members have answered; the rest are cancelled and listed
    # in failed_models, and the judge works from those that finished.
    deadline_s: float | None = Field(default=None, gt=0, le=C.DEADLINE_MAX_S)
    quorum: int | None = Field(default=None, ge=1, le=C.PANEL_MAX, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _one_panel_spelling(cls, data: Any) -> Any:
        # Without this, pydantic reports the second spelling as an "unknown field".
        if isinstance(data, dict) and "analysis_models" in data and "models" in data:
            raise ValueError("give the panel once: `analysis_models` or its alias `models`")
        return data

    @field_validator("analysis_models")
    @classmethod
    def _ids_not_blank(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(not m.strip() for m in v):
            raise ValueError("model ids must be non-empty strings")
        return v

    @field_validator("tools")
    @classmethod
    def _inner_tools_known(cls, v: list[ServerToolSpec] | None) -> list[ServerToolSpec] | None:
        allowed = {C.WEB_SEARCH_TOOL, C.WEB_FETCH_TOOL, C.DATETIME_TOOL}
        for spec in v or []:
            if spec.name == C.FUSION_TOOL:
                raise ValueError("fusion cannot be offered to the panel or judge")
            if spec.name not in allowed:
                raise ValueError(
                    f"unknown server tool {spec.type!r}; use one of "
                    "openrouter:web_search, openrouter:web_fetch, openrouter:datetime"
                )
        return v

    @classmethod
    def parse(cls, data: dict[str, Any] | None, where: str = "parameters") -> FusionParams:
        """Validate, turning pydantic's error into one that names the field and the fix."""
        data = data or {}
        if "analysis_models" in data and "models" in data:
            raise InvalidParameter(
                f"{where}.models", "give the panel once: `analysis_models` or its alias `models`"
            )
        return parse_or_raise(cls, data, where)
