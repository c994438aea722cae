"""Validation at the edge: pydantic's errors turned into ones that name the request's field.

`Passthrough` wire objects keep fields they do not know (OpenAI and OpenRouter add fields
often); `Strict` objects are Parley's own options, where an unknown field is a typo to
report. `parse_or_raise` validates and raises InvalidParameter naming the field
(`tools[0].parameters.temperature`) and quoting the wrong value, bounded.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from parley.errors import InvalidParameter


class Passthrough(BaseModel):
    """A wire object that keeps fields it does not know."""

    model_config = ConfigDict(extra="allow")


class Strict(BaseModel):
    """One of Parley's own option objects: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


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
