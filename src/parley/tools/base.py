"""The server-tool seam: a tool offers a function definition and runs one call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import Field, field_validator

from parley import _constants as C
from parley.models.base import Source
from parley.usage import Usage
from parley.validation import Strict


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


@dataclass
class ToolOutput:
    """What a tool call produced: the text the model reads, plus what Parley keeps."""

    content: str
    sources: list[Source] = field(default_factory=list)
    ok: bool = True
    web_search: bool = False
    # Usage of model calls the tool itself made (fusion's panel and judge).
    usage: Usage | None = None
    # What the run's record keeps of the call (fusion: its Deliberation).
    record: Any = None

    @classmethod
    def json(cls, data: Any, **kw: Any) -> ToolOutput:
        """Output whose content is `data` as JSON."""
        return cls(json.dumps(data, ensure_ascii=False), **kw)

    @classmethod
    def error(cls, message: str, **extra: Any) -> ToolOutput:
        """A failed call, told to the model as `{"status": "failed", "error": ...}`."""
        return cls(json.dumps({"status": "failed", "error": message, **extra}), ok=False)


@runtime_checkable
class ServerTool(Protocol):
    """A tool Parley runs itself; models see it as an ordinary function."""

    name: str

    def definition(self) -> dict[str, Any]:
        """The `{"type": "function", "function": {...}}` entry offered to the model."""
        ...

    async def run(self, arguments: dict[str, Any]) -> ToolOutput:
        """Execute one call; return errors as output for the model, do not raise."""
        ...


def function_def(
    name: str, description: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    """A function tool in Chat Completions shape, its parameters an object that allows no
    properties beyond `properties`."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }
