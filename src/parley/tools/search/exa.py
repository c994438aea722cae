"""Exa (`POST /search`, key in `x-api-key`), with native domain filters and text snippets."""

from __future__ import annotations

from typing import Any

from parley.tools.search._common import KeyedBackend, plain, request_json
from parley.tools.web import SearchHit

ENV = "EXA_API_KEY"
BASE_ENV = "EXA_BASE_URL"
BASE_URL = "https://api.exa.ai"
SNIPPET_CHARS = 500


class ExaSearch(KeyedBackend):
    """Exa's `results[]`: url and title, the snippet from highlights, summary or text."""

    default_base_url = BASE_URL

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: list[str] | None = None,
        excluded_domains: list[str] | None = None,
    ) -> list[SearchHit]:
        body: dict[str, Any] = {
            "query": query,
            "numResults": max_results,
            "contents": {"text": {"maxCharacters": SNIPPET_CHARS}},
        }
        if allowed_domains:
            body["includeDomains"] = allowed_domains
        if excluded_domains:
            body["excludeDomains"] = excluded_domains
        data = await request_json(
            self.session,
            "Exa",
            "POST",
            f"{self.base_url}/search",
            json_body=body,
            headers={"x-api-key": self._key, "Accept": "application/json"},
            secret=self._key,
            hint={401: f"check {ENV}", 429: "rate limited"},
        )
        results = data.get("results") if isinstance(data, dict) else None
        return [
            SearchHit(url=str(r["url"]), title=plain(r.get("title")), snippet=_snippet(r))
            for r in (results or [])
            if isinstance(r, dict) and r.get("url")
        ][:max_results]


def _snippet(r: dict[str, Any]) -> str:
    highlights = r.get("highlights")
    if isinstance(highlights, list) and highlights:
        return plain(" … ".join(str(h) for h in highlights))
    return plain(r.get("summary") or r.get("text"))[:SNIPPET_CHARS]
