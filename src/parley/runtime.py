"""What a run needs, built once by one function, `build()`, for the library, the CLI and
the gateway alike.

    setup = Setup(settings=load_settings(), models={"vendor/x": FunctionModel(fn)})
    runtime = build(setup, session)

`Setup` is what a caller may choose: the settings, and whatever it injects in place of
what the settings would pick (models by id, a search backend, a fetcher, a clock). The
`Runtime` holds the result: the model router, the web backends, the server-tool registry,
and, on a request's own copy, that request's web quota.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from parley import _constants as C
from parley.config import Settings, load_settings
from parley.models.base import ChatModel
from parley.providers import Router
from parley.redact import Redactor
from parley.tools import builtins
from parley.tools.base import ServerTool, ServerToolSpec
from parley.tools.budget import Budget
from parley.tools.registry import REGISTRY, Registry, RequestFacts
from parley.tools.web.fetcher import default_fetcher
from parley.tools.web.protocols import Fetcher, SearchBackend
from parley.tools.web.quota import WebQuota
from parley.tools.web.search.select import default_search, keyless_search


class Unset(enum.Enum):
    """Not set by the caller (None means "none at all" for search and fetch)."""

    UNSET = 0


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Setup:
    """What a runtime is built from. Anything left unset comes from the settings:
    `search` and `fetcher` as configured (pass None for none at all), models routed by id.

    Args:
        settings: default `load_settings()` (the config file and the environment).
        models: ChatModel objects by id, used before any routing (fakes, custom models).
        search: the web search backend.
        fetcher: the page fetcher behind web_fetch.
        now: the clock the datetime tool reads.
    """

    settings: Settings | None = None
    models: Mapping[str, ChatModel] | None = None
    search: SearchBackend | Unset | None = UNSET
    fetcher: Fetcher | Unset | None = UNSET
    now: Callable[[], datetime] | None = None


@dataclass
class Runtime:
    """Everything a run needs, injected once: the router (model id -> ChatModel), the web
    backends, the clock the datetime tool reads, the server tools, and a request's web
    quota (on the copy `for_request()` makes; None on the shared runtime)."""

    router: Router
    search: SearchBackend | None = None
    fetcher: Fetcher | None = None
    now: Callable[[], datetime] | None = None
    tools: Registry = field(default_factory=lambda: REGISTRY)
    quota: WebQuota | None = None
    budget: Budget | None = None
    # Keyless metasearch, for members that have no other way to search when no backend
    # is configured (see parley.fusion.research).
    fallback_search: SearchBackend | None = None

    def for_request(self, limits: list[dict[str, Any]] | None = None) -> Runtime:
        """This runtime with a fresh web quota and budget for one request (`limits`: its
        `stop_server_tools_when` conditions); already one: itself, so a deliberation
        inside a request draws on that request's quota and budget."""
        if self.quota is not None:
            return self
        budget = Budget(self.settings.max_upstream_calls, list(limits or []))
        return dataclasses.replace(self, quota=WebQuota(), budget=budget)

    @property
    def settings(self) -> Settings:
        """The settings the router was built with."""
        return self.router.settings

    @property
    def redactor(self) -> Redactor:
        """Masks every credential the router holds, wherever upstream text is quoted."""
        return self.router.redactor

    def server_tools(
        self,
        specs: Sequence[ServerToolSpec] | None,
        *,
        field_name: str = "tools",
        request: RequestFacts | None = None,
        inner: bool = False,
    ) -> list[ServerTool]:
        """Fresh tool instances (their per-request counters start at zero).

        `None` means the inner default (web_search + web_fetch, where a backend exists);
        `[]` means none. A tool asked for by name that cannot run here is an error that
        says how to make it available, not a silent omission.
        """
        if specs is None:
            specs = [ServerToolSpec(type=n) for n in C.INNER_DEFAULT_TOOLS]
            return self.tools.build(
                specs, self, field_name=field_name, request=request, inner=True, by_default=True
            )
        return self.tools.build(specs, self, field_name=field_name, request=request, inner=inner)


def build(setup: Setup | None = None, session: aiohttp.ClientSession | None = None) -> Runtime:
    """The one way a runtime is made: web backends not injected come from the settings.

    Search: `parley.tools.web.search.select.default_search` (first service with
    credentials, else a local folder, else none). Fetch: the SSRF-guarded `WebFetcher`
    when the `web` extra is installed, unless `web.fetch` is off.
    """
    setup = setup or Setup()
    settings = setup.settings or load_settings()
    search = default_search(settings, session) if setup.search is UNSET else setup.search
    fetcher = default_fetcher(settings) if setup.fetcher is UNSET else setup.fetcher
    fallback = keyless_search(settings) if setup.search is UNSET and search is None else None
    assert builtins.BUILTIN  # the built-in tools are registered by importing it
    router = Router(settings, session, models=setup.models)
    return Runtime(router, search, fetcher, setup.now, fallback_search=fallback)
