"""SearXNG's JSON API (`GET /search?q=...&format=json`), for self-hosted metasearch."""

from __future__ import annotations

import aiohttp

from parley.tools.search._common import plain, request_json, site_query
from parley.tools.web import SearchHit

ENV = "SEARXNG_URL"


class SearxngSearch:
    """Queries a SearXNG instance; its settings.yml must list `json` under search.formats."""

    filters_domains = True

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session

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
            "SearXNG",
            "GET",
            f"{self.base_url}/search",
            params={"q": q, "format": "json", "pageno": "1"},
            headers={"Accept": "application/json"},
            hint={403: "enable the json format under search.formats in SearXNG's settings.yml"},
        )
        results = data.get("results") if isinstance(data, dict) else None
        return [
            SearchHit(
                url=str(r["url"]), title=plain(r.get("title")), snippet=plain(r.get("content"))
            )
            for r in (results or [])
            if isinstance(r, dict) and r.get("url")
        ][:max_results]
