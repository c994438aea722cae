"""Which search backend a runtime gets when none is injected.

`PARLEY_SEARCH` names one (searxng, brave, tavily, exa, ddgs, local, or off). Otherwise the
first service with credentials wins, in this order: SearXNG (`SEARXNG_URL`), Brave
(`BRAVE_API_KEY`), Tavily (`TAVILY_API_KEY`), Exa (`EXA_API_KEY`); else the local backend
when `PARLEY_SEARCH_DIR` names a folder; else there is no search and web_search is not
offered. Base URLs can be moved with `BRAVE_BASE_URL`, `TAVILY_BASE_URL`, `EXA_BASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import aiohttp

from parley.errors import ConfigError
from parley.tools.web import SearchBackend
from parley.tools.web.search import brave, exa, local, searxng, tavily

CHOICE_ENV = "PARLEY_SEARCH"
NAMES = ("searxng", "brave", "tavily", "exa", "ddgs", "local", "off")


def backend_named(
    name: str, env: Mapping[str, str], session: aiohttp.ClientSession | None = None
) -> SearchBackend | None:
    """The backend `name`, configured from `env`; a missing setting names what to set."""
    name = name.strip().lower()

    def need(var: str) -> str:
        value = env.get(var, "").strip()
        if not value:
            raise ConfigError(f"{CHOICE_ENV}={name} needs {var}; set it or pick another backend")
        return value

    if name == "searxng":
        return searxng.SearxngSearch(need(searxng.ENV), session)
    if name == "brave":
        return brave.BraveSearch(
            need(brave.ENV), session, env.get(brave.BASE_ENV) or brave.BASE_URL
        )
    if name == "tavily":
        return tavily.TavilySearch(
            need(tavily.ENV), session, env.get(tavily.BASE_ENV) or tavily.BASE_URL
        )
    if name == "exa":
        return exa.ExaSearch(need(exa.ENV), session, env.get(exa.BASE_ENV) or exa.BASE_URL)
    if name == "ddgs":
        from parley.tools.web.search.ddgs_backend import DdgsSearch

        return DdgsSearch()
    if name == "local":
        return local.LocalSearch(need(local.ENV))
    if name == "off":
        return None
    raise ConfigError(f"{CHOICE_ENV}={name!r} is not a backend; use one of {', '.join(NAMES)}")


def default_search(
    env: Mapping[str, str] | None = None, session: aiohttp.ClientSession | None = None
) -> SearchBackend | None:
    """The configured backend, or None when nothing is configured."""
    env = os.environ if env is None else env
    chosen = env.get(CHOICE_ENV, "").strip()
    if chosen:
        return backend_named(chosen, env, session)
    for name, var in (
        ("searxng", searxng.ENV),
        ("brave", brave.ENV),
        ("tavily", tavily.ENV),
        ("exa", exa.ENV),
        ("local", local.ENV),
    ):
        if env.get(var, "").strip():
            return backend_named(name, env, session)
    return None
