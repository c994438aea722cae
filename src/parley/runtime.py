"""Everything a run needs, injected once: the model router, web backends and settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from parley import _constants as C
from parley.config import Settings, load_settings
from parley.errors import InvalidParameter
from parley.models.base import ChatModel
from parley.providers import Router
from parley.redact import Redactor
from parley.tools.base import ServerTool, ServerToolSpec
from parley.tools.clock import DatetimeTool
from parley.tools.web import Fetcher, SearchBackend, WebFetchTool, WebQuota, WebSearchTool
from parley.tools.web.fetcher import default_fetcher
from parley.tools.web.search.select import default_search


@dataclass
class Runtime:
    """Everything a run needs, injected once: the router (model id -> ChatModel), the web
    backends, the clock the datetime tool reads, and a request's web quota. See `create()`."""

    router: Router
    search: SearchBackend | None = None
    fetcher: Fetcher | None = None
    now: Callable[[], datetime] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Set on the per-request copy that `for_request()` makes; None on the shared runtime.
    quota: WebQuota | None = None

    def for_request(self) -> Runtime:
        """This runtime with a fresh web quota for one request; already one: itself, so a
        deliberation inside a request draws on that request's quota."""
        if self.quota is not None:
            return self
        return dataclasses.replace(self, quota=WebQuota())

    @property
    def redactor(self) -> Redactor:
        """Masks every credential the router holds, wherever upstream text is quoted."""
        return self.router.redactor

    @property
    def settings(self) -> Settings:
        """The settings the router was built with."""
        return self.router.settings

    @classmethod
    def create(
        cls,
        *,
        session: aiohttp.ClientSession | None = None,
        settings: Settings | None = None,
        env: Mapping[str, str] | None = None,
        models: Mapping[str, ChatModel] | None = None,
        search: SearchBackend | None = None,
        fetcher: Fetcher | None = None,
    ) -> Runtime:
        """Wire a runtime; web backends not injected come from the environment.

        Search: `parley.tools.web.search.select.default_search` (first service with
        credentials, else a local folder, else none). Fetch: the SSRF-guarded `WebFetcher`
        when the `web` extra is installed, unless `PARLEY_WEB_FETCH=off`.
        """
        settings = settings or load_settings(env)
        if search is None:
            search = default_search(env, session)
        if fetcher is None:
            fetcher = default_fetcher(env)
        return cls(Router(settings, session, env=env, models=models), search, fetcher)

    def server_tools(
        self, specs: Sequence[ServerToolSpec] | None, *, field_name: str = "tools"
    ) -> list[ServerTool]:
        """Build fresh tool instances (their per-request counters start at zero).

        `None` means the inner default (web_search + web_fetch, where a backend exists);
        `[]` means none. A web tool asked for by name with no backend configured is an error
        that says how to configure one, not a silent omission.
        """
        explicit = specs is not None
        wanted = (
            list(specs)
            if specs is not None
            else [ServerToolSpec(type=n) for n in C.INNER_DEFAULT_TOOLS]
        )
        tools: list[ServerTool] = []
        for i, spec in enumerate(wanted):
            name = spec.name
            if name == C.WEB_SEARCH_TOOL:
                if self.search is None:
                    if explicit:
                        raise InvalidParameter(
                            f"{field_name}[{i}]",
                            "web_search has no backend here; configure one (SEARXNG_URL, "
                            "BRAVE_API_KEY, TAVILY_API_KEY, EXA_API_KEY, PARLEY_SEARCH_DIR "
                            "for a local folder, or PARLEY_SEARCH=ddgs) or drop the tool",
                        )
                    continue
                tools.append(
                    WebSearchTool(
                        self.search,
                        spec.parameters,
                        field=f"{field_name}[{i}].parameters",
                        quota=self.quota,
                    )
                )
            elif name == C.WEB_FETCH_TOOL:
                if self.fetcher is None:
                    if explicit:
                        raise InvalidParameter(
                            f"{field_name}[{i}]",
                            "web_fetch is not available here: install parley-llm[web] "
                            "(and leave PARLEY_WEB_FETCH unset), or drop the tool",
                        )
                    continue
                tools.append(
                    WebFetchTool(
                        self.fetcher,
                        spec.parameters,
                        field=f"{field_name}[{i}].parameters",
                        quota=self.quota,
                    )
                )
            elif name == C.DATETIME_TOOL:
                tz = str(spec.parameters.get("timezone") or "UTC")
                tools.append(DatetimeTool(tz, self.now))
            else:
                raise InvalidParameter(
                    f"{field_name}[{i}].type", f"unknown server tool {spec.type!r}"
                )
        return tools
