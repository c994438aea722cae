"""The web tools: `web_search` and `web_fetch` over the SearchBackend and Fetcher seams.

- `protocols`: the seams and what they return (SearchHit, FetchedPage);
- `search_tool`, `fetch_tool`: the two server tools; `params` reads their parameters;
  `quota` caps a request's calls across its outer loop, panel and judge;
- `fetcher`: the real, SSRF-guarded fetcher (`netguard` decides which addresses,
  `connguard` enforces it at the socket), `extract` turns pages into markdown;
- `search/`: the search backends (SearXNG, Brave, Tavily, Exa, ddgs, a local folder).

The in-package fakes (`parley.testing`) serve tests and offline demos.
"""

from parley.tools.web.fetch_tool import WebFetchTool, mark_untrusted
from parley.tools.web.protocols import (
    DomainFilteringBackend,
    FetchedPage,
    Fetcher,
    SearchBackend,
    SearchHit,
)
from parley.tools.web.quota import WebQuota
from parley.tools.web.search_tool import WebSearchTool

__all__ = [
    "DomainFilteringBackend",
    "FetchedPage",
    "Fetcher",
    "SearchBackend",
    "SearchHit",
    "WebFetchTool",
    "WebQuota",
    "WebSearchTool",
    "mark_untrusted",
]
