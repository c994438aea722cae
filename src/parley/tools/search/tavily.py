"""Tavily (`POST /search`, key as `Authorization: Bearer`), with native domain filters."""

from __future__ import annotations

from parley.tools.search._common import KeyedBackend, plain, request_json
from parley.tools.web import SearchHit

ENV = "TAVILY_API_KEY"
BASE_ENV = "TAVILY_BASE_URL"
BASE_URL = "https://api.tavily.com"
MAX_RESULTS = 20  # the API's own bound


class TavilySearch(KeyedBackend):
    """Tavily's `results[]` with url, title and content (the snippet)."""

    default_base_url = BASE_URL

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]:
        body: dict[str, object] = {
            "query": query,
            "max_results": min(max_results, MAX_RESULTS),
            "search_depth": "basic",
        }
        if allowed_domains:
            body["include_domains"] = allowed_domains
        if excluded_domains:
            body["exclude_domains"] = excluded_domains
        data = await request_json(
            self.session,
            "Tavily",
            "POST",
            f"{self.base_url}/search",
            json_body=body,
            headers={"Authorization": f"Bearer {self._key}"},
            secret=self._key,
            hint={401: f"check {ENV}", 432: "Tavily plan limit reached", 429: "rate limited"},
        )
        results = data.get("results") if isinstance(data, dict) else None
        return [
            SearchHit(
                url=str(r["url"]), title=plain(r.get("title")), snippet=plain(r.get("content"))
            )
            for r in (results or [])
            if isinstance(r, dict) and r.get("url")
        ][:max_results]
