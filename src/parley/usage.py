"""Usage summed over every call a request makes, inner calls included (contract section 6)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Usage:
    """Tokens, cost and server-tool counts summed over every upstream call of a request,
    inner panel and judge calls included; `to_wire()` gives OpenRouter's `usage` shape.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    reasoning_tokens: int = 0
    # Of the prompt tokens, those read from and written to the provider's prompt cache.
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    tool_calls_requested: int = 0
    tool_calls_executed: int = 0
    web_search_requests: int = 0
    calls: int = 0

    def add_upstream(self, raw: Any) -> None:
        """Add one upstream call's `usage` object.

        The upstream reports these: a value of the wrong type, or a count or cost no real
        call reaches (a negative count, past 2**53, not finite), is left out rather than summed into
        a total the response could not encode."""
        self.calls += 1
        if not raw or not isinstance(raw, dict):
            return
        p = _int(raw.get("prompt_tokens"))
        c = _int(raw.get("completion_tokens"))
        self.prompt_tokens += p
        self.completion_tokens += c
        self.total_tokens += _int(raw.get("total_tokens")) or p + c
        cost = _cost(raw.get("cost"))
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        details = raw.get("completion_tokens_details") or {}
        if isinstance(details, dict):
            self.reasoning_tokens += _int(details.get("reasoning_tokens"))
        prompt = raw.get("prompt_tokens_details") or {}
        if isinstance(prompt, dict):
            self.cached_tokens += _int(prompt.get("cached_tokens"))
            self.cache_write_tokens += _int(prompt.get("cache_write_tokens"))
        stud = raw.get("server_tool_use_details") or {}
        if isinstance(stud, dict):
            self.tool_calls_requested += _int(stud.get("tool_calls_requested"))
            self.tool_calls_executed += _int(stud.get("tool_calls_executed"))
            self.web_search_requests += _int(stud.get("web_search_requests"))

    def merge(self, other: Usage) -> None:
        """Add another Usage (a deliberation's, say) into this one."""
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.reasoning_tokens += other.reasoning_tokens
        self.cached_tokens += other.cached_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.tool_calls_requested += other.tool_calls_requested
        self.tool_calls_executed += other.tool_calls_executed
        self.web_search_requests += other.web_search_requests
        self.calls += other.calls

    def to_wire(self) -> dict[str, Any]:
        """The `usage` object of a Chat Completions response."""
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cost is not None:
            out["cost"] = round(self.cost, 10)
        if self.cached_tokens or self.cache_write_tokens:
            out["prompt_tokens_details"] = self.prompt_details()
        if self.reasoning_tokens:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        out["server_tool_use_details"] = {
            "tool_calls_requested": self.tool_calls_requested,
            "tool_calls_executed": self.tool_calls_executed,
            "web_search_requests": self.web_search_requests,
        }
        return out

    def prompt_details(self) -> dict[str, int]:
        """`prompt_tokens_details`: the cached share of the prompt tokens."""
        out = {"cached_tokens": self.cached_tokens}
        if self.cache_write_tokens:
            out["cache_write_tokens"] = self.cache_write_tokens
        return out


# Above this a count is not a count; below it every sum stays exact in a JSON double.
_COUNT_MAX = 2**53


def _int(v: Any) -> int:
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < _COUNT_MAX
    return v if ok else 0


def _cost(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if isinstance(v, int) and not abs(v) < _COUNT_MAX:
        return None  # float() of a huge int overflows
    cost = float(v)
    return cost if math.isfinite(cost) else None
