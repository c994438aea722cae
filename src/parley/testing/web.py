"""Fake web backends for tests and offline demos; no network is touched."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from parley.tools.web.protocols import FetchedPage, SearchHit


class FakeSearch:
    """Answers every query from a fixed list of hits, or from a function of the query."""

    def __init__(
        self,
        hits: list[SearchHit] | Callable[[str], list[SearchHit]] | None = None,
    ) -> None:
        self._hits = hits if hits is not None else []
        self.queries: list[str] = []

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]:
        self.queries.append(query)
        hits = self._hits(query) if callable(self._hits) else self._hits
        return list(hits)[:max_results]


class FakeFetcher:
    """Serves pages from a mapping of URL to (title, text); others are 404s."""

    def __init__(self, pages: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.pages = dict(pages or {})
        self.urls: list[str] = []

    async def fetch(self, url: str) -> FetchedPage:
        self.urls.append(url)
        if url not in self.pages:
            return FetchedPage(url=url, error="HTTP 404: not found")
        title, text = self.pages[url]
        return FetchedPage(url=url, title=title, content=text)
