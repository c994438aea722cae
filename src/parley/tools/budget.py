"""A request's budget, shared by every loop the request runs (the outer model, each
panelist, the judge): a cap on its upstream model calls, and the request's
`stop_server_tools_when` cost and token conditions judged against what the whole request
has spent, inner calls included, so that a panel cannot run past a budget the client set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.errors import UpstreamError
from parley.usage import Usage


@dataclass
class Budget:
    """`max_calls` upstream model calls in all; `limits` the request's cost and token
    conditions (`max_cost`, `max_tokens_used`), in `stop_server_tools_when`'s shape."""

    max_calls: int
    limits: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    spent: Usage = field(default_factory=Usage)

    def take_call(self) -> None:
        """Count one more upstream call, or refuse it past the cap."""
        if self.calls >= self.max_calls:
            raise UpstreamError(
                f"this request has made its {self.max_calls} upstream model calls (the "
                "max_upstream_calls setting, PARLEY_MAX_UPSTREAM_CALLS); not calling again",
                429,
            )
        self.calls += 1

    def spend(self, usage: dict[str, Any] | None) -> None:
        self.spent.add_upstream(usage)

    def spent_out(self) -> bool:
        """A cost or token limit of the request is exceeded: server tools stop
        everywhere in it (each loop still writes its answer from what it has)."""
        return any(exceeded(c, self.spent) for c in self.limits)


def exceeded(condition: dict[str, Any], usage: Usage) -> bool:
    """A `max_tokens_used` or `max_cost` condition that `usage` is past (OpenRouter's word
    is "exceeds"); any other condition is not this function's to judge."""
    kind = condition.get("type")
    if kind == "max_tokens_used":
        return usage.total_tokens > int(condition.get("max_tokens", 0))
    if kind == "max_cost":
        return (usage.cost or 0.0) > float(condition.get("max_cost_in_dollars", 0))
    return False
