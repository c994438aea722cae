"""Search backends for `web_search`: SearXNG, Brave, Tavily, Exa, ddgs and a local folder.

Each is a `SearchBackend` (`async search(query, *, max_results)`); the service backends are
`DomainFilteringBackend`s, taking `allowed_domains`/`excluded_domains` too. `default_search`
picks one from the environment (see `parley.tools.web.search.select`).
"""

from __future__ import annotations

from parley.tools.web.search._common import SearchError
from parley.tools.web.search.brave import BraveSearch
from parley.tools.web.search.ddgs_backend import DdgsSearch
from parley.tools.web.search.exa import ExaSearch
from parley.tools.web.search.local import LocalSearch
from parley.tools.web.search.searxng import SearxngSearch
from parley.tools.web.search.select import backend_named, default_search
from parley.tools.web.search.tavily import TavilySearch

__all__ = [
    "BraveSearch",
    "DdgsSearch",
    "ExaSearch",
    "LocalSearch",
    "SearchError",
    "SearxngSearch",
    "TavilySearch",
    "backend_named",
    "default_search",
]
