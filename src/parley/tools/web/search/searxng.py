"""SearXNG's JSON API (`GET /search?q=...&format=json`), for self-hosted metasearch."""

from __future__ import annotations

from parley.tools.web.protocols import SearchHit
from parley.tools.web.search._common import ServiceBackend, field, hits, site_query


class SearxngSearch(ServiceBackend):
    """Queries a SearXNG instance; its settings.yml must list `json` under search.formats."""

    service = "SearXNG"

    async def _search(
        self, query: str, max_results: int, allowed: list[str], excluded: list[str]
    ) -> list[SearchHit]:
        data = await self.request_json(
            "GET",
            "/search",
            params={"q": site_query(query, allowed, excluded), "format": "json", "pageno": "1"},
            headers={"Accept": "application/json"},
            hint={403: "enable the json format under search.formats in SearXNG's settings.yml"},
        )
        return hits(field(data, "results"), max_results)
