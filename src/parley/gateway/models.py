"""GET /v1/models: the aliases, then every model the configuration names or routes, each
with OpenRouter's fields (strict clients require them all).

What an upstream says of its own models (GET {base}/models: names, context lengths,
pricing, parameters) is fetched once per provider and kept; where it has nothing to say
(a local model, an injected one, an upstream that is down), the entry is filled from the
configuration: the aliases describe fusion, local models give the context they run with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from parley.fusion import ways_in
from parley.models.local.files import local_model_ids
from parley.models.local.model import CONTEXT_DEFAULT
from parley.providers import Router
from parley.runtime import Runtime
from parley.wire.model_entry import merge_upstream

ALIASES = tuple(ways_in.ALIASES)
CATALOG_TIMEOUT_S = 5.0
CATALOG_TTL_S = 3600.0
CATALOG_RETRY_S = 60.0
# What every model served through Parley accepts (the server tools ride on `tools`).
SUPPORTED = [
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "reasoning",
    "response_format",
    "structured_outputs",
    "stop",
    "seed",
]
log = logging.getLogger("parley.gateway")


def model_ids(runtime: Runtime) -> list[str]:
    s = runtime.settings
    ids: list[str] = list(ALIASES)
    ids += [m for m in (s.model, s.judge) if m]
    ids += s.panel or []
    for preset in s.presets.values():
        ids += [m for m in (preset.outer, preset.model) if m]
        ids += preset.analysis_models
    ids += list(runtime.router.models)
    ids += local_model_ids(s.local.models)
    return list(dict.fromkeys(ids))  # first mention wins, order kept


class Catalog:
    """The upstreams' own model listings, by provider. A listing is kept for
    CATALOG_TTL_S (providers add models and change prices); a failed fetch is remembered
    as empty for CATALOG_RETRY_S only, so that /v1/models neither waits on a dead upstream
    each time nor stays without its details after a blip at startup."""

    def __init__(self, router: Router, clock: Callable[[], float] = time.monotonic) -> None:
        self.router = router
        self._clock = clock
        # provider -> (when it expires, model id -> the upstream's entry)
        self._by_provider: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        self._lock = asyncio.Lock()

    async def entry(self, model_id: str) -> dict[str, Any]:
        """What the upstream says of `model_id` ({} when it says nothing)."""
        if model_id in self.router.models or model_id.startswith("local/"):
            return {}
        if model_id in ALIASES or self.router.session is None:
            return {}
        route = self.router.route(model_id)
        if not self._fresh(route.provider):
            async with self._lock:
                if not self._fresh(route.provider):
                    listed = await self._fetch(route.base_url, route.api_key, dict(route.headers))
                    keep = CATALOG_TTL_S if listed is not None else CATALOG_RETRY_S
                    self._by_provider[route.provider] = (self._clock() + keep, listed or {})
        return self._by_provider[route.provider][1].get(route.upstream_model, {})

    def _fresh(self, provider: str) -> bool:
        kept = self._by_provider.get(provider)
        return kept is not None and self._clock() < kept[0]

    async def _fetch(
        self, base_url: str, api_key: str | None, headers: dict[str, str]
    ) -> dict[str, dict[str, Any]] | None:
        """The upstream's listing by model id; None when it could not be had."""
        session = self.router.session
        assert session is not None
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        try:
            async with session.get(
                base_url.rstrip("/") + "/models",
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=CATALOG_TIMEOUT_S),
            ) as resp:
                if resp.status != 200:
                    log.warning("model listing of %s unavailable: HTTP %s", base_url, resp.status)
                    return None
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("model listing of %s unavailable: %s", base_url, type(exc).__name__)
            return None
        items = data.get("data") if isinstance(data, dict) else None
        listed = items if isinstance(items, list) else []
        return {str(m["id"]): m for m in listed if isinstance(m, dict) and "id" in m}


def entry(runtime: Runtime, mid: str, upstream: dict[str, Any]) -> dict[str, Any]:
    """One model with OpenRouter's fields (and OpenAI's `object`/`owned_by`)."""
    alias = mid in ALIASES
    owner = "parley" if alias or "/" not in mid else mid.lstrip("~").split("/")[0]
    context = _context(runtime, mid)
    # "-1": priced by what runs, per request (OpenRouter's spelling for a router); local
    # models cost nothing.
    price = "0" if mid.startswith("local/") else "-1"
    out: dict[str, Any] = {
        "id": mid,
        "object": "model",
        "created": 0,
        "owned_by": owner,
        "canonical_slug": mid,
        "name": mid,
        "description": "",
        "context_length": context,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": price, "completion": price},
        "top_provider": {
            "is_moderated": False,
            "context_length": context,
            "max_completion_tokens": None,
        },
        "per_request_limits": None,
        "supported_parameters": list(SUPPORTED),
        "default_parameters": None,
        "supported_voices": None,
        "links": {"details": f"/api/v1/models/{mid}/endpoints"},
    }
    if alias:
        preset = ways_in.ALIASES[mid] or runtime.settings.preset
        out["name"] = f"Fusion ({preset})"
        out["description"] = (
            "fusion: a panel of models answers in parallel, a judge maps where they agree "
            "and disagree, and the outer model writes the answer"
        )
    # The upstream's word wins on what it knows, where it fits OpenRouter's schema.
    return merge_upstream(out, upstream)


def _context(runtime: Runtime, mid: str) -> int | None:
    if mid.startswith("local/"):
        return runtime.settings.local.context or CONTEXT_DEFAULT
    return None


async def listing(runtime: Runtime, catalog: Catalog) -> dict[str, Any]:
    """The list, in OpenAI's and OpenRouter's shape at once."""
    ids = model_ids(runtime)
    found = await asyncio.gather(*(catalog.entry(mid) for mid in ids))
    data = [entry(runtime, mid, up) for mid, up in zip(ids, found, strict=True)]
    return {"object": "list", "data": data, "links": {"next": None}, "total_count": len(data)}


async def find(runtime: Runtime, catalog: Catalog, model_id: str) -> dict[str, Any] | None:
    """GET /v1/models/{id}: a listed model, or None."""
    if model_id not in model_ids(runtime):
        return None
    return entry(runtime, model_id, await catalog.entry(model_id))
