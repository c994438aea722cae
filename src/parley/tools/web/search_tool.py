"""`web_search`: results `{url, title, snippet}` from the configured SearchBackend.

Parameters follow OpenRouter's: `max_results` (1-25, default 5), `allowed_domains`,
`excluded_domains` and `max_uses`. A failed call comes back to the model as
`{status: "failed", error}`, never as an exception.
"""

from __future__ import annotations

from typing import Any

from parley import _constants as C
from parley.models.base import Source
from parley.tools.base import ToolOutput, function_def
from parley.tools.registry import REGISTRY, ServerToolKind, ToolContext, ToolUnavailable
from parley.tools.web.params import domain_match, domains_param, host_of, int_param
from parley.tools.web.protocols import DomainFilteringBackend, SearchBackend, SearchHit
from parley.tools.web.quota import WebQuota

MAX_RESULTS_DEFAULT = 5
MAX_RESULTS_CAP = 25
SEARCH_MAX_USES_CAP = 50


def check_parameters(
    parameters: dict[str, Any] | None, field: str
) -> tuple[int, int, list[str], list[str]]:
    """The parameters' limits (max_results, max_uses, allowed and excluded domains),
    checked: InvalidParameter names the one out of bounds. Checked even where the
    provider searches instead (an OpenRouter panelist), so that a wrong value is the same
    400 wherever the tool is asked for."""
    p = parameters or {}
    return (
        int_param(p, "max_results", field, MAX_RESULTS_DEFAULT, 1, MAX_RESULTS_CAP),
        int_param(p, "max_uses", field, SEARCH_MAX_USES_CAP, 1, SEARCH_MAX_USES_CAP),
        domains_param(p, "allowed_domains", field),
        domains_param(p, "excluded_domains", field),
    )


class WebSearchTool:
    """`web_search`: results `{url, title, snippet}` from the configured backend."""

    name = C.WEB_SEARCH_TOOL

    def __init__(
        self,
        backend: SearchBackend,
        parameters: dict[str, Any] | None = None,
        *,
        field: str = "parameters",
        quota: WebQuota | None = None,
    ) -> None:
        self.backend = backend
        self.quota = quota
        limits = check_parameters(parameters, field)
        self.max_results, self.max_uses, self.allowed, self.excluded = limits
        self.uses = 0

    def definition(self) -> dict[str, Any]:
        return function_def(
            self.name,
            "Search the web. Returns a list of results with url, title and snippet.",
            {"query": {"type": "string", "description": "What to search for"}},
            ["query"],
        )

    async def run(self, arguments: dict[str, Any]) -> ToolOutput:
        query = str(arguments.get("query") or "").strip()
        if not query:
            return ToolOutput.error("web_search needs a non-empty 'query'")
        if self.uses >= self.max_uses:
            return ToolOutput.error(f"web_search max_uses ({self.max_uses}) reached")
        spent = self.quota.take(C.WEB_SEARCH_TOOL) if self.quota is not None else None
        if spent:
            return ToolOutput.error(spent)
        self.uses += 1
        n = self.max_results
        try:
            if isinstance(self.backend, DomainFilteringBackend) and self.backend.filters_domains:
                hits = await self.backend.search(
                    query,
                    max_results=n,
                    allowed_domains=self.allowed,
                    excluded_domains=self.excluded,
                )
            else:
                # Ask for spares: the domain filter below may drop some.
                spare = n * 2 if self.allowed or self.excluded else n
                hits = await self.backend.search(query, max_results=min(spare, MAX_RESULTS_CAP))
        except Exception as exc:  # a tool's failure is the model's to read, not a crash
            return ToolOutput.error(f"search failed: {type(exc).__name__}: {exc}")
        kept: list[SearchHit] = []
        seen: set[str] = set()
        for h in hits:
            host = host_of(h.url)
            if h.url in seen or (not host and not h.url.startswith("file:")):
                continue
            if self.allowed and not domain_match(host, self.allowed):
                continue
            if self.excluded and domain_match(host, self.excluded):
                continue
            seen.add(h.url)
            kept.append(h)
        kept = kept[:n]
        return ToolOutput.json(
            {
                "query": query,
                "results": [{"url": h.url, "title": h.title, "snippet": h.snippet} for h in kept],
            },
            sources=[Source(url=h.url, title=h.title) for h in kept],
            web_search=True,
        )


def _build(ctx: ToolContext) -> WebSearchTool:
    search: SearchBackend | None = ctx.runtime.search or ctx.runtime.fallback_search
    if search is None:
        raise ToolUnavailable(
            "web_search has no backend here; configure one (SEARXNG_URL, BRAVE_API_KEY, "
            "TAVILY_API_KEY, EXA_API_KEY, PARLEY_SEARCH_DIR for a local folder, or "
            "PARLEY_SEARCH=ddgs) or drop the tool"
        )
    quota: WebQuota | None = ctx.runtime.quota
    return WebSearchTool(search, ctx.parameters, field=ctx.field, quota=quota)


KIND = REGISTRY.register(ServerToolKind(C.WEB_SEARCH_TOOL, _build))
