"""What the search backends share: the HTTP call, result parsing, `site:` operators, errors."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from yarl import URL

from parley import _constants as C
from parley.errors import ParleyError
from parley.http import env_proxy, new_session
from parley.tools.web.protocols import SearchHit

_TAG = re.compile(r"<[^>]+>")


class SearchError(ParleyError):
    """A search service answered with an error; the message says which and how to fix it."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class ServiceBackend:
    """A search service over HTTP: its own time bound, the environment's proxy, error wording.

    Subclasses set `service` (the name errors use) and write `_search`; `search` is the
    `DomainFilteringBackend` signature, written once here.
    """

    filters_domains = True
    service = "search service"

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout_s: float = C.SEARCH_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout_s = timeout_s
        self._proxy: tuple[URL | None, aiohttp.BasicAuth | None] | None = None

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]:
        """Up to `max_results` hits; the service applies the domain lists itself."""
        return await self._search(query, max_results, allowed_domains or [], excluded_domains or [])

    async def _search(
        self, query: str, max_results: int, allowed: list[str], excluded: list[str]
    ) -> list[SearchHit]:
        raise NotImplementedError

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self.session is not None:
            yield self.session
        else:
            async with new_session(trust_env=True) as own:
                yield own

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        hint: Mapping[int, str] | None = None,
        secret: str = "",
    ) -> Any:
        """One call to `base_url + path`; a failure is a SearchError naming the service."""
        timeout = aiohttp.ClientTimeout(
            total=self.timeout_s, connect=min(C.UPSTREAM_CONNECT_TIMEOUT_S, self.timeout_s)
        )
        async with self._session() as session:
            if self._proxy is None:
                # The session is fixed per backend, and so is the proxy's answer: resolve once.
                self._proxy = env_proxy(session, self.base_url)
            proxy, proxy_auth = self._proxy
            try:
                async with session.request(
                    method,
                    self.base_url + path,
                    headers=dict(headers or {}),
                    params=params,
                    json=json_body,
                    timeout=timeout,
                    proxy=proxy,
                    proxy_auth=proxy_auth,
                ) as resp:
                    if resp.status >= 400:
                        detail = (await resp.text(errors="replace"))[:300].strip()
                        if secret:  # some services echo the key back in their error text
                            detail = detail.replace(secret, "[key]")
                        fix = (hint or {}).get(resp.status, "")
                        raise SearchError(
                            f"{self.service} answered HTTP {resp.status}: {detail or resp.reason}"
                            + (f" ({fix})" if fix else ""),
                            resp.status,
                        )
                    try:
                        return await resp.json(content_type=None)
                    except ValueError:
                        raise SearchError(
                            f"{self.service} did not answer with JSON", resp.status
                        ) from None
            except TimeoutError:
                raise SearchError(
                    f"{self.service} did not answer within {self.timeout_s:g}s; "
                    "it may be down or overloaded"
                ) from None
            except aiohttp.ClientError as exc:
                raise SearchError(
                    f"{self.service} could not be reached: {type(exc).__name__}: {exc}"
                ) from None


class KeyedBackend(ServiceBackend):
    """A hosted search API reached with a key: the constructor and a repr that hides it."""

    default_base_url = ""

    def __init__(
        self,
        api_key: str,
        session: aiohttp.ClientSession | None = None,
        base_url: str | None = None,
        *,
        timeout_s: float = C.SEARCH_TIMEOUT_S,
    ) -> None:
        super().__init__(base_url or self.default_base_url, session, timeout_s=timeout_s)
        self._key = api_key

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def plain(text: Any) -> str:
    """Snippet text without the <strong> highlighting some services add."""
    return " ".join(html.unescape(_TAG.sub("", str(text or ""))).split())


def field(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or None where the answer is not shaped that way."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def hits(
    items: Any,
    limit: int,
    *,
    url_key: str = "url",
    title_key: str = "title",
    snippet: str | Callable[[dict[str, Any]], str] = "content",
) -> list[SearchHit]:
    """A service's result rows as hits: rows without a URL are dropped, text made plain.

    `snippet` is the row's key for the snippet, or a function of the row for services
    that spread it over several fields.
    """
    out: list[SearchHit] = []
    for row in items if isinstance(items, list) else []:
        if not isinstance(row, dict) or not row.get(url_key):
            continue
        text = snippet(row) if callable(snippet) else plain(row.get(snippet))
        out.append(SearchHit(url=str(row[url_key]), title=plain(row.get(title_key)), snippet=text))
        if len(out) >= limit:
            break
    return out


def site_query(query: str, allowed: list[str], excluded: list[str]) -> str:
    """The query with `site:` operators, for services that take no domain parameters."""
    parts = [query]
    if allowed:
        parts.append(" OR ".join(f"site:{d}" for d in allowed))
    parts += [f"-site:{d}" for d in excluded]
    return " ".join(parts)
