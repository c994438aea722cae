"""Tavily (`POST /search`, key as `Authorization: Bearer`), with native domain filters."""

from __future__ import annotations

import aiohttp

from parley.tools.search._common import plain, request_json
from parley.tools.web import SearchHit

ENV = "TAVILY_API_KEY"
BASE_ENV = "TAVILY_BASE_URL"
BASE_URL = "https://api.tavily.com"
MAX_RESULTS = 20  # the API's own bound


class TavilySearch:
    """Tavily's `results[]` with url, title and content (the snippet)."""

    filters_domains = True

    def __init__(
        self,
        api_key: str,
        session: aiohttp.ClientSession | None = None,
        base_url: str = BASE_URL,
    ) -> None:
        self._key = api_key
        self.session = session
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:  # never show the key
        return f"TavilySearch(base_url={self.base_url!r})"

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
