"""What the search backends share: the HTTP call, `site:` operators, error wording."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from parley.errors import ParleyError
from parley.http import new_session

_TAG = re.compile(r"<[^>]+>")


class SearchError(ParleyError):
    """A search service answered with an error; the message says which and how to fix it."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class KeyedBackend:
    """A hosted search API reached with a key: the constructor and a repr that hides it."""

    filters_domains = True
    default_base_url = ""

    def __init__(
        self,
        api_key: str,
        session: aiohttp.ClientSession | None = None,
        base_url: str | None = None,
    ) -> None:
        self._key = api_key
        self.session = session
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def __repr__(self) -> str:  # never show the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def plain(text: Any) -> str:
    """Snippet text without the <strong> highlighting some services add."""
    return " ".join(html.unescape(_TAG.sub("", str(text or ""))).split())


def site_query(query: str, allowed: list[str], excluded: list[str]) -> str:
    """The query with `site:` operators, for services that take no domain parameters."""
    parts = [query]
    if allowed:
        parts.append(" OR ".join(f"site:{d}" for d in allowed))
    parts += [f"-site:{d}" for d in excluded]
    return " ".join(parts)


async def request_json(
    session: aiohttp.ClientSession | None,
    service: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json_body: Any = None,
    hint: Mapping[int, str] | None = None,
    secret: str = "",
) -> Any:
    """One call to a search service; non-2xx becomes a SearchError naming the service."""
    if session is None:
        async with new_session(trust_env=True) as own:
            return await request_json(
                own,
                service,
                method,
                url,
                headers=headers,
                params=params,
                json_body=json_body,
                hint=hint,
                secret=secret,
            )
    async with session.request(
        method, url, headers=dict(headers or {}), params=params, json=json_body
    ) as resp:
        if resp.status >= 400:
            detail = (await resp.text(errors="replace"))[:300].strip()
            if secret:  # some services echo the key back in their error text
                detail = detail.replace(secret, "[key]")
            fix = (hint or {}).get(resp.status, "")
            raise SearchError(
                f"{service} answered HTTP {resp.status}: {detail or resp.reason}"
                + (f" ({fix})" if fix else ""),
                resp.status,
            )
        try:
            return await resp.json(content_type=None)
        except ValueError:
            raise SearchError(f"{service} did not answer with JSON", resp.status) from None
