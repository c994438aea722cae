"""Chat Completions on the wire: the request as a client sends it, the response and the
stream chunks as Parley answers with them.

Inbound models let unknown fields through untouched (OpenAI and OpenRouter add fields
often); the stop conditions of `stop_server_tools_when` are checked here so that a bad one
is a 400 before anything runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from parley import _constants as C
from parley.errors import InvalidParameter
from parley.validation import Passthrough, _message, field_path


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
