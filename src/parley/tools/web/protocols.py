"""The web seams: a search service behind `web_search`, a page fetcher behind `web_fetch`,
and what they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass
class SearchHit:
    """One search result: the page's URL and title, and the service's snippet."""

    url: str
    title: str
    snippet: str = ""


@dataclass
class FetchedPage:
    """A fetched page as readable text; `error` says why it could not be read instead."""

    url: str
    title: str = ""
    content: str = ""
    error: str | None = None


@runtime_checkable
class SearchBackend(Protocol):
    """A web search service behind `web_search` (see `parley.tools.web.search`); inject one
    through `Parley(search=...)` or `Runtime.create(search=...)`, e.g. `FakeSearch`."""

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]: ...


@runtime_checkable
class DomainFilteringBackend(SearchBackend, Protocol):
    """A backend that applies the domain lists at the service (no spares to over-fetch).

    `filters_domains` lets a wrapper that has the signature but not the ability say so.
    """

    filters_domains: bool

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]: ...


@runtime_checkable
class Fetcher(Protocol):
    """Fetches one URL as text for `web_fetch`; report failures in `FetchedPage.error`
    rather than raising. Inject through `Parley(fetcher=...)`, e.g. `FakeFetcher`."""

    async def fetch(self, url: str) -> FetchedPage: ...
