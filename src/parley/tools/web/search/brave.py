"""Brave Search API (`GET /res/v1/web/search`, key in `X-Subscription-Token`)."""

from __future__ import annotations

from parley.tools.web.protocols import SearchHit
from parley.tools.web.search._common import KeyedBackend, field, hits, site_query

ENV = "BRAVE_API_KEY"
BASE_URL = "https://api.search.brave.com"
MAX_COUNT = 20  # the API's own bound for `count`


class BraveSearch(KeyedBackend):
    """Brave's web results: `web.results[]` with url, title and description."""

    default_base_url = BASE_URL
    service = "Brave Search"

    async def _search(
        self, query: str, max_results: int, allowed: list[str], excluded: list[str]
    ) -> list[SearchHit]:
        data = await self.request_json(
            "GET",
            "/res/v1/web/search",
            params={
                "q": site_query(query, allowed, excluded),
                "count": str(min(max_results, MAX_COUNT)),
            },
            headers={"Accept": "application/json", "X-Subscription-Token": self._key},
            secret=self._key,
            hint={401: f"check {ENV}", 422: f"check {ENV}", 429: "Brave's rate limit; retry later"},
        )
        return hits(field(data, "web", "results"), max_results, snippet="description")
