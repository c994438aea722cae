"""What the web page reads besides the live stream: the models and presets to choose from
(GET /v1/choices), the logged deliberations (GET /v1/deliberations, searchable with `q`)
and one of them by id (GET /v1/deliberations/{run_id}), as the log store keeps them."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley import _constants as C
from parley import offline
from parley.errors import ConfigError
from parley.gateway.errors import error_body
from parley.gateway.models import ALIASES, model_ids
from parley.gateway.state import GatewayState

HISTORY_LIMIT = 50
_NO_LOG = (
    "the gateway keeps no log: set `log_gateway = true` in the config file (or start the "
    "page with `parley ui`, which keeps one) to see past deliberations"
)


def choices(state: GatewayState) -> dict[str, Any]:
    """The models and presets the page offers, and what is chosen when nothing is."""
    runtime = state.runtime
    # No remote key: the defaults are the bundled models, as `parley ask` would pick them,
    # not a preset of remote models that cannot answer.
    no_key = not runtime.router.has_remote_key()
    s = offline.apply(runtime.settings)[0] if no_key else runtime.settings
    preset = s.presets.get(s.preset)
    panel = list(s.panel or (preset.analysis_models if preset else []))
    return {
        # Aliases name a whole deliberation, not a model that can sit on a panel.
        "models": [m for m in model_ids(runtime) if m not in ALIASES],
        "presets": {
            name: {"panel": list(p.analysis_models), "judge": p.model, "model": p.outer}
            for name, p in s.presets.items()
        },
        "defaults": {
            "model": s.model or s.outer_model_for(),
            "panel": panel,
            "judge": s.judge_for(panel) if panel else None,
            "preset": s.preset,
        },
        # No remote key: only local (offline) models can answer.
        "offline": no_key,
        "logged": state.log is not None,
        "panel_size": {"min": C.PANEL_MIN, "max": C.PANEL_MAX},
    }


def _summary(entry: Any) -> dict[str, Any]:
    panel = [m for d in entry.deliberations for m in d.panel]
    return {
        "id": entry.id,
        "conversation_id": entry.conversation_id,
        "created_at": entry.created_at,
        "source": entry.source,
        "question": entry.question,
        "model": entry.model,
        "status": entry.status,
        "panel": panel,
        "cost": entry.cost,
        "seconds": entry.seconds,
    }


def routes(state: GatewayState) -> tuple[Any, Any, Any]:
    """The three handlers: choices, the history list, one run."""

    async def choices_endpoint(request: Request) -> Response:
        return JSONResponse(choices(state))

    async def list_endpoint(request: Request) -> Response:
        if state.log is None:
            return JSONResponse({"data": [], "logged": False, "message": _NO_LOG})
        query = request.query_params.get("q") or None
        raw_limit = request.query_params.get("limit", str(HISTORY_LIMIT))
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
            text = f"limit must be a whole number from 1 to 500, got {raw_limit[:20]!r}"
            return JSONResponse(error_body(400, text, "invalid_parameter", "limit"), 400)
        store = state.log.store
        try:
            entries = await asyncio.to_thread(store.recent, int(raw_limit), query)
        except ConfigError as exc:
            return JSONResponse(error_body(503, str(exc), "log_unavailable"), 503)
        return JSONResponse({"data": [_summary(e) for e in entries], "logged": True})

    async def one_endpoint(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if state.log is None:
            return JSONResponse(error_body(404, _NO_LOG, "run_not_found", "run_id"), 404)
        try:
            entry = await asyncio.to_thread(state.log.store.get, run_id)
        except ConfigError as exc:
            return JSONResponse(error_body(404, str(exc), "run_not_found", "run_id"), 404)
        return JSONResponse(entry.to_dict())

    return choices_endpoint, list_endpoint, one_endpoint
