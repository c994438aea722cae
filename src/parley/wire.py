"""Pydantic models of every wire shape: Chat Completions in and out, and the fusion shapes.

Inbound Chat Completions models let unknown fields through untouched, because OpenAI and
OpenRouter add fields often; Parley's own options forbid unknown fields so typos fail loudly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from parley import _constants as C
from parley.errors import InvalidParameter


class Passthrough(BaseModel):
    """A wire object that keeps fields it does not know."""

    model_config = ConfigDict(extra="allow")


class Strict(BaseModel):
    """One of Parley's own option objects: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


# --- Chat Completions ---------------------------------------------------------------


class ChatRequest(Passthrough):
    """A Chat Completions request as a client sends it."""

    model: str | None = None
    messages: list[dict[str, Any]]
    stream: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    plugins: list[dict[str, Any]] | None = None
    max_tool_calls: int | None = Field(
        default=None, ge=1, le=C.OUTER_MAX_TOOL_CALLS_MAX, strict=True
    )
    stop_server_tools_when: list[dict[str, Any]] | None = None

    @field_validator("stop_server_tools_when")
    @classmethod
    def _stop_conditions(cls, v: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        # Checked here so that a bad condition is a 400, not a crash half way through a loop.
        if v is None:
            return v
        if not v:
            raise ValueError("give at least one condition, or leave the field out")
        out = []
        for i, cond in enumerate(v):
            try:
                out.append(_STOP_CONDITION.validate_python(cond).model_dump())
            except ValidationError as exc:
                # Not a ValueError, so pydantic lets it through with the item's own path
                # (the loc would otherwise include the union's tag).
                err = exc.errors()[0]
                sub = field_path(err["loc"][1:]) or "type"
                raise InvalidParameter(
                    f"stop_server_tools_when[{i}].{sub}", _message(err, bool(sub))
                ) from None
        return out

    @field_validator("messages")
    @classmethod
    def _messages_not_empty(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not v:
            raise ValueError("must contain at least one message")
        for m in v:
            if "role" not in m:
                raise ValueError("every message needs a 'role'")
        return v


class StepCountIs(Passthrough):
    type: Literal["step_count_is"]
    step_count: int = Field(ge=1)


class HasToolCall(Passthrough):
    type: Literal["has_tool_call"]
    tool_name: str = Field(min_length=1)


class MaxTokensUsed(Passthrough):
    type: Literal["max_tokens_used"]
    max_tokens: int = Field(ge=1)


class MaxCost(Passthrough):
    type: Literal["max_cost"]
    max_cost_in_dollars: float = Field(ge=0)


class FinishReasonIs(Passthrough):
    type: Literal["finish_reason_is"]
    reason: str = Field(min_length=1)


_STOP_CONDITION: TypeAdapter[
    StepCountIs | HasToolCall | MaxTokensUsed | MaxCost | FinishReasonIs
] = TypeAdapter(
    Annotated[
        StepCountIs | HasToolCall | MaxTokensUsed | MaxCost | FinishReasonIs,
        Field(discriminator="type"),
    ]
)


class ChatMessage(Passthrough):
    """An assistant message in a response; fields Parley does not know are kept."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatChoice(Passthrough):
    """One choice of a non-streaming response."""

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


class ChatResponse(Passthrough):
    """A non-streaming Chat Completions response, as Parley answers with one.

    Dump with `exclude_unset=True`: what was not set stays absent, as on the wire."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: dict[str, Any] | None = None


class ChunkChoice(Passthrough):
    """One choice of a streamed chunk."""

    index: int = 0
    delta: dict[str, Any]
    finish_reason: str | None = None


class ChatChunk(Passthrough):
    """One streamed Chat Completions chunk (the usage chunk has empty `choices`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: dict[str, Any] | None = None


# --- Fusion parameters ----------------------------------------------------------------


class Reasoning(Strict):
    effort: Literal["max", "xhigh", "high", "medium", "low", "minimal", "none"] | None = None
    max_tokens: int | None = Field(default=None, ge=0, strict=True)


class ServerToolSpec(Strict):
    """`{type, parameters}` shorthand for a server tool."""

    type: str
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("parameters", mode="before")
    @classmethod
    def _null_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v  # OpenAI's SDKs send `"parameters": null`

    @property
    def name(self) -> str:
        return strip_tool_prefix(self.type)


def strip_tool_prefix(tool_type: str) -> str:
    for prefix in C.TOOL_PREFIXES:
        if tool_type.startswith(prefix):
            return tool_type[len(prefix) :]
    return tool_type


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


M = TypeVar("M", bound=BaseModel)


def parse_or_raise(model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc, where) from None


# The longest echo of a client's value in an error message.
ECHO_MAX = 200
# What pydantic puts in an error's location for a union member rather than a field.
_NOT_FIELDS = {"str", "int", "float", "bool", "dict", "list", "none", "function-after"}


def _is_field(part: int | str) -> bool:
    return isinstance(part, int) or (part.isidentifier() and part not in _NOT_FIELDS)


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """A pydantic location as the request spells it: `tools[0].parameters.temperature`."""
    out = ""
    for part in filter(_is_field, loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _message(err: Any, named: bool) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field; check its spelling against the documentation"
    if "input" in err and named and err["type"] not in ("missing",):
        return f"{msg} (got {shown(err['input'])})"
    return msg


def shown(value: Any) -> str:
    """A wrong value as an error quotes it: bounded, since it may be a whole document."""
    text = repr(value)
    if len(text) <= ECHO_MAX:
        return text
    return f"{text[:ECHO_MAX]}... ({len(text)} characters)"


def invalid_from(exc: ValidationError, where: str) -> InvalidParameter:
    err = exc.errors()[0]
    loc = field_path(err["loc"])
    if not all(map(_is_field, err["loc"])):
        # A union (`str | object`): the first member's complaint would mislead.
        err = {**err, "type": "union", "msg": "has the wrong type"}
    if where and loc:
        field = where + loc if loc.startswith("[") else f"{where}.{loc}"
    else:
        field = where or loc
    return InvalidParameter(field, _message(err, bool(loc)))


# --- Fusion result ----------------------------------------------------------------------


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


class Source(BaseModel):
    url: str
    title: str = ""


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
        return out
