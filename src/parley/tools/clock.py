"""The `datetime` server tool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley import _constants as C
from parley.tools.base import ToolOutput, function_def
from parley.tools.registry import REGISTRY, ServerToolKind, ToolContext


class DatetimeTool:
    name = C.DATETIME_TOOL

    def __init__(self, timezone: str = "UTC", now: Callable[[], datetime] | None = None) -> None:
        self.timezone = timezone
        self._now = now or (lambda: datetime.now(UTC))

    def definition(self) -> dict[str, Any]:
        return function_def(
            self.name,
            "Get the current date and time. Use it whenever the answer depends on today's date.",
            {"timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Paris"}},
            [],
        )

    async def run(self, arguments: dict[str, Any]) -> ToolOutput:
        tz_name = str(arguments.get("timezone") or self.timezone)
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            return ToolOutput.error(f"unknown timezone {tz_name!r}; use an IANA name like UTC")
        now = self._now().astimezone(tz)
        return ToolOutput.json(
            {
                "datetime": now.isoformat(timespec="seconds"),
                "timezone": tz_name,
                "weekday": now.strftime("%A"),
            }
        )


def _build(ctx: ToolContext) -> DatetimeTool:
    now: Callable[[], datetime] | None = ctx.runtime.now
    return DatetimeTool(str(ctx.parameters.get("timezone") or "UTC"), now)


KIND = REGISTRY.register(ServerToolKind(C.DATETIME_TOOL, _build))
