"""Which search backend a runtime gets when none is injected.

The `web.search` setting (`PARLEY_SEARCH`) names one: searxng, brave, tavily, exa, ddgs,
local, or off. Otherwise the first service with credentials wins, in this order: SearXNG
(`web.searxng_url`), Brave (`BRAVE_API_KEY`), Tavily (`TAVILY_API_KEY`), Exa
(`EXA_API_KEY`); else the local backend when `web.search_dir` names a folder; else there is
no search and web_search is not offered. Services' URLs move with `web.brave_base_url`,
`web.tavily_base_url`, `web.exa_base_url`.
"""

from __future__ import annotations

import importlib.util

import aiohttp

from parley.config import Settings
from parley.errors import ConfigError
from parley.tools.web.protocols import SearchBackend
from parley.tools.web.search import brave, exa, local, searxng, tavily

NAMES = ("searxng", "brave", "tavily", "exa", "ddgs", "local", "off")
# What each service needs: the setting or credential variable, as a user sets it.
_NEEDS = {
    "searxng": "SEARXNG_URL (web.searxng_url)",
    "brave": brave.ENV,
    "tavily": tavily.ENV,
    "exa": exa.ENV,
    "local": "PARLEY_SEARCH_DIR (web.search_dir)",
}


def _needed(settings: Settings, name: str) -> str | None:
    web = settings.web
    return {
        "searxng": web.searxng_url,
        "brave": settings.var(brave.ENV),
        "tavily": settings.var(tavily.ENV),
        "exa": settings.var(exa.ENV),
        "local": web.search_dir,
    }.get(name)


def backend_named(
    name: str, settings: Settings, session: aiohttp.ClientSession | None = None
) -> SearchBackend | None:
    """The backend `name`, configured from `settings`; a missing setting names what to set."""
    name = name.strip().lower()
    if name == "off":
        return None
    if name == "ddgs":
        from parley.tools.web.search.ddgs_backend import DdgsSearch

        return DdgsSearch()
    if name not in _NEEDS:
        raise ConfigError(
            f"web.search (PARLEY_SEARCH)={name!r} is not a backend; use one of {', '.join(NAMES)}"
        )
    value = _needed(settings, name)
    if not value:
        raise ConfigError(
            f"web.search (PARLEY_SEARCH)={name} needs {_NEEDS[name]}; "
            "set it or pick another backend"
        )
    web = settings.web
    if name == "searxng":
        return searxng.SearxngSearch(value, session)
    if name == "brave":
        return brave.BraveSearch(value, session, web.brave_base_url or brave.BASE_URL)
    if name == "tavily":
        return tavily.TavilySearch(value, session, web.tavily_base_url or tavily.BASE_URL)
    if name == "exa":
        return exa.ExaSearch(value, session, web.exa_base_url or exa.BASE_URL)
    return local.LocalSearch(value)


def default_search(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> SearchBackend | None:
    """The configured backend, or None when nothing is configured."""
    if settings.web.search:
        return backend_named(settings.web.search, settings, session)
    for name in ("searxng", "brave", "tavily", "exa", "local"):
        if _needed(settings, name):
            return backend_named(name, settings, session)
    return None


def keyless_search(settings: Settings) -> SearchBackend | None:
    """Keyless metasearch (ddgs) when it is installed and search is not turned off: what a
    panelist with no other way to search uses (see `parley.fusion.research`)."""
    if (settings.web.search or "").strip().lower() == "off":
        return None
    if importlib.util.find_spec("ddgs") is None:
        return None
    from parley.tools.web.search.ddgs_backend import DdgsSearch

    return DdgsSearch()
