"""Exa (`POST /search`, key in `x-api-key`), with native domain filters and text snippets."""

from __future__ import annotations

from typing import Any

from parley.tools.web.protocols import SearchHit
from parley.tools.web.search._common import KeyedBackend, field, hits, plain

ENV = "EXA_API_KEY"
BASE_URL = "https://api.exa.ai"
SNIPPET_CHARS = 500


class ExaSearch(KeyedBackend):
    """Exa's `results[]`: url and title, the snippet from highlights, summary or text."""

    default_base_url = BASE_URL
    service = "Exa"

    async def _search(
        self, query: str, max_results: int, allowed: list[str], excluded: list[str]
    ) -> list[SearchHit]:
        body: dict[str, Any] = {
            "query": query,
            "numResults": max_results,
            "contents": {"text": {"maxCharacters": SNIPPET_CHARS}},
        }
        if allowed:
            body["includeDomains"] = allowed
        if excluded:
            body["excludeDomains"] = excluded
        data = await self.request_json(
            "POST",
            "/search",
            json_body=body,
            headers={"x-api-key": self._key, "Accept": "application/json"},
            secret=self._key,
            hint={401: f"check {ENV}", 429: "rate limited"},
        )
        return hits(field(data, "results"), max_results, snippet=_snippet)


def _snippet(r: dict[str, Any]) -> str:
    highlights = r.get("highlights")
    if isinstance(highlights, list) and highlights:
        return plain(" … ".join(str(h) for h in highlights))
    return plain(r.get("summary") or r.get("text"))[:SNIPPET_CHARS]
