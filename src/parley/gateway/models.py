"""GET /v1/models: the aliases, then every model the configuration names or routes."""

from __future__ import annotations

from typing import Any

from parley.fusion import ways_in
from parley.models.local.files import local_model_ids
from parley.runtime import Runtime

ALIASES = tuple(ways_in.ALIASES)


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


def entry(mid: str) -> dict[str, Any]:
    """One model in OpenAI's shape."""
    owner = "parley" if mid in ALIASES or "/" not in mid else mid.lstrip("~").split("/")[0]
    out: dict[str, Any] = {"id": mid, "object": "model", "created": 0, "owned_by": owner}
    if mid in ALIASES:
        out["description"] = "fusion: a panel deliberates, then the outer model answers"
    return out


def listing(runtime: Runtime) -> dict[str, Any]:
    """OpenAI's list shape."""
    return {"object": "list", "data": [entry(mid) for mid in model_ids(runtime)]}


def find(runtime: Runtime, model_id: str) -> dict[str, Any] | None:
    """GET /v1/models/{id}: a listed model, or None."""
    return entry(model_id) if model_id in model_ids(runtime) else None
