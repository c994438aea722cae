"""A Chat Completions request as a client sends it, translated into the engine's Request;
and what goes upstream untouched when a request involves no server tool.

Inbound models let unknown fields through untouched (OpenAI and OpenRouter add fields
often); the stop conditions of `stop_server_tools_when` are checked here so that a bad one
is a 400 before anything runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from parley import _constants as C
from parley.engine.plan import Plan
from parley.engine.request import Request
from parley.errors import InvalidParameter
from parley.fusion.ways_in import is_fusion_plugin
from parley.validation import Passthrough, _message, field_path, parse_or_raise


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
        return None if v is None else stop_conditions(v)

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


def stop_conditions(v: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`stop_server_tools_when`, checked, so that a bad condition is a 400 naming it, not
    a crash half way through a loop."""
    if not v:
        raise InvalidParameter(
            "stop_server_tools_when", "give at least one condition, or leave the field out"
        )
    out = []
    for i, cond in enumerate(v):
        try:
            out.append(_STOP_CONDITION.validate_python(cond).model_dump())
        except ValidationError as exc:
            # Named by the item's own path (the loc would otherwise include the union's tag).
            err = exc.errors()[0]
            sub = field_path(err["loc"][1:]) or "type"
            raise InvalidParameter(
                f"stop_server_tools_when[{i}].{sub}", _message(err, bool(sub))
            ) from None
    return out


# Fields Parley reads itself; every other field of the body goes to the outer model.
OWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "plugins",
        "max_tool_calls",
        "stop_server_tools_when",
    }
)
# Parley's own fields, consumed here and never sent upstream on the lean path.
_CONSUMED = ("max_tool_calls", "stop_server_tools_when")


def to_request(raw: dict[str, Any]) -> Request:
    """A client's Chat Completions body as the engine's Request (a 400 naming the field
    when it is not a valid one)."""
    req = parse_or_raise(ChatRequest, raw, "")
    return Request(
        model=req.model,
        messages=req.messages,
        tools=list(req.tools or []),
        tool_choice=req.tool_choice,
        plugins=list(req.plugins or []),
        max_tool_calls=req.max_tool_calls,
        stop_server_tools_when=req.stop_server_tools_when,
        stream=req.stream,
        body={k: v for k, v in raw.items() if k not in OWN_FIELDS},
    )


def passthrough_body(raw: dict[str, Any], p: Plan) -> dict[str, Any]:
    """The client's body for a passthrough plan: untouched but for what Parley consumed.

    Only the model id (an alias resolves to a concrete model) and Parley's own steering
    fields change; everything else, unknown fields included, goes upstream as sent. When
    nothing needs to change, `raw` itself is returned (not a copy), so a caller holding the
    bytes `raw` was parsed from can send those instead of encoding it again.
    """
    if _as_sent(raw, p):
        return raw
    body = dict(raw)
    body["model"] = p.outer_model
    for name in _CONSUMED:
        body.pop(name, None)
    plugins = body.get("plugins")
    if isinstance(plugins, list):
        kept = [x for x in plugins if not is_fusion_plugin(x)]
        if kept:
            body["plugins"] = kept
        else:
            del body["plugins"]
    if "tools" in body:
        if p.client_tools:
            body["tools"] = p.client_tools
        else:
            del body["tools"]
            body.pop("tool_choice", None)
    if "tool_choice" in body and _forced_withheld(body["tool_choice"], p, "tools" in body):
        # It forced a server tool that was withheld (depth, `enabled: false`): upstreams
        # reject a forcing tool_choice naming no tool they were offered.
        del body["tool_choice"]
    return body


def _forced_withheld(choice: Any, p: Plan, has_tools: bool) -> bool:
    if choice is None:
        return False
    if p.first_tool_choice is None:  # the planner dropped it: it named a withheld tool
        return True
    return choice == "required" and not has_tools


def _as_sent(raw: dict[str, Any], p: Plan) -> bool:
    """Nothing to rewrite: the common case (a concrete model, no Parley field), checked
    without copying anything."""
    if raw.get("model") != p.outer_model or any(name in raw for name in _CONSUMED):
        return False
    plugins = raw.get("plugins")
    # An empty list goes too: what remains of it is nothing, and a server that knows no
    # `plugins` field rejects even an empty one.
    if isinstance(plugins, list) and (not plugins or any(is_fusion_plugin(x) for x in plugins)):
        return False
    if "tools" not in raw:
        return not _forced_withheld(raw.get("tool_choice"), p, False)
    # A passthrough plan's client tools are the request's tools minus the server ones:
    # the same number, and not zero, means none was dropped.
    tools = raw["tools"]
    if not (isinstance(tools, list) and len(tools) == len(p.client_tools) > 0):
        return False
    return not _forced_withheld(raw.get("tool_choice"), p, True)
