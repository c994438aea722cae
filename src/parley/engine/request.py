"""A request as the engine takes it, whichever wire format it came in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What a client asked for, in the engine's terms.

    `tools` holds the request's tools as sent: server tools (`{"type": "openrouter:x",
    "parameters": {...}}`) and the client's own functions. `body` holds every other field,
    passed on to the outer model (sampling, `response_format`, fields Parley does not
    know).
    """

    model: str | None
    messages: list[dict[str, Any]]
    tools: list[Any] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    plugins: list[Any] = field(default_factory=list)
    max_tool_calls: int | None = None
    stop_server_tools_when: list[dict[str, Any]] | None = None
    stream: bool = False
    body: dict[str, Any] = field(default_factory=dict)
