"""Tavily (`POST /search`, key as `Authorization: Bearer`), with native domain filters."""

from __future__ import annotations

from parley.tools.web.protocols import SearchHit
from parley.tools.web.search._common import KeyedBackend, field, hits

ENV = "TAVILY_API_KEY"
BASE_URL = "https://api.tavily.com"
MAX_RESULTS = 20  # the API's own bound


class TavilySearch(KeyedBackend):
    """Tavily's `results[]` with url, title and content (the snippet)."""

    default_base_url = BASE_URL
    service = "Tavily"

    async def _search(
        self, query: str, max_results: int, allowed: list[str], excluded: list[str]
    ) -> list[SearchHit]:
        body: dict[str, object] = {
            "query": query,
            "max_results": min(max_results, MAX_RESULTS),
            "search_depth": "basic",
        }
        if allowed:
            body["include_domains"] = allowed
        if excluded:
            body["exclude_domains"] = excluded
        data = await self.request_json(
            "POST",
            "/search",
            json_body=body,
            headers={"Authorization": f"Bearer {self._key}"},
            secret=self._key,
            hint={401: f"check {ENV}", 432: "Tavily plan limit reached", 429: "rate limited"},
        )
        return hits(field(data, "results"), max_results)
