"""Keyless metasearch through the `ddgs` library (chosen explicitly: `PARLEY_SEARCH=ddgs`)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from parley.errors import MissingExtraError
from parley.tools.web.protocols import SearchHit
from parley.tools.web.search._common import SearchError, hits, site_query

TIMEOUT_S = 10


class TextSearchClient(Protocol):
    """What we use of `ddgs.DDGS`; tests inject a stand-in."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


class DdgsSearch:
    """`DDGS().text(...)` rows (`title`, `href`, `body`) as hits; the call runs in a thread."""

    filters_domains = True

    def __init__(self, client: TextSearchClient | None = None) -> None:
        self._client = client

    def _get_client(self) -> TextSearchClient:
        if self._client is None:
            try:
                from ddgs import DDGS
            except ImportError:
                raise MissingExtraError("web_search through ddgs", "web") from None
            self._client = DDGS(timeout=TIMEOUT_S)
        return self._client

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]:
        client = self._get_client()
        q = site_query(query, allowed_domains or [], excluded_domains or [])
        try:
            rows = await asyncio.to_thread(client.text, q, max_results=max_results)
        except Exception as exc:
            if "no results" in str(exc).lower():
                return []
            raise SearchError(f"ddgs search failed: {type(exc).__name__}: {exc}") from None
        return hits(rows, max_results, url_key="href", snippet="body")
