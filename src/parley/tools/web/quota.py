"""A request's web budget, shared by every tool instance it builds (outer loop, panel and
judge alike), so a wide panel cannot multiply the per-loop caps into hundreds of calls."""

from __future__ import annotations

from dataclasses import dataclass

from parley import _constants as C


@dataclass
class WebQuota:
    """Web tool calls one request may still make, shared by every tool instance it builds."""

    fetches: int = C.WEB_FETCHES_PER_REQUEST
    searches: int = C.WEB_SEARCHES_PER_REQUEST

    def take(self, kind: str) -> str | None:
        """Spend one `web_search` or `web_fetch` call; None when allowed, else the error the
        model reads."""
        if kind == C.WEB_SEARCH_TOOL:
            if self.searches <= 0:
                return _spent(kind, C.WEB_SEARCHES_PER_REQUEST, "searches")
            self.searches -= 1
        elif kind == C.WEB_FETCH_TOOL:
            if self.fetches <= 0:
                return _spent(kind, C.WEB_FETCHES_PER_REQUEST, "fetches")
            self.fetches -= 1
        else:
            raise ValueError(
                f"no web quota for {kind!r}; use {C.WEB_SEARCH_TOOL!r} or {C.WEB_FETCH_TOOL!r}"
            )
        return None


def _spent(kind: str, cap: int, what: str) -> str:
    return f"{kind}: this request's cap of {cap} {what} is spent; answer from what you have"
