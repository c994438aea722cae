"""Brave Search API (`GET /res/v1/web/search`, key in `X-Subscription-Token`)."""

from __future__ import annotations

from parley.tools.search._common import KeyedBackend, plain, request_json, site_query
from parley.tools.web import SearchHit

ENV = "BRAVE_API_KEY"
BASE_ENV = "BRAVE_BASE_URL"
BASE_URL = "https://api.search.brave.com"
MAX_COUNT = 20  # the API's own bound for `count`


class BraveSearch(KeyedBackend):
    """Brave's web results: `web.results[]` with url, title and description."""

    default_base_url = BASE_URL

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]:
        q = site_query(query, allowed_domains or [], excluded_domains or [])
        data = await request_json(
            self.session,
            "Brave Search",
            "GET",
            f"{self.base_url}/res/v1/web/search",
            params={"q": q, "count": str(min(max_results, MAX_COUNT))},
            headers={"Accept": "application/json", "X-Subscription-Token": self._key},
            secret=self._key,
            hint={401: f"check {ENV}", 422: f"check {ENV}", 429: "Brave's rate limit; retry later"},
        )
        web = data.get("web") if isinstance(data, dict) else None
        results = web.get("results") if isinstance(web, dict) else None
        return [
            SearchHit(
                url=str(r["url"]), title=plain(r.get("title")), snippet=plain(r.get("description"))
            )
            for r in (results or [])
            if isinstance(r, dict) and r.get("url")
        ][:max_results]
