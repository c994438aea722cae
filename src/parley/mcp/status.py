"""`parley_status()`: what a host needs to pick arguments: providers with keys, presets,
whether the bundled offline models are there, and how long deliberations took lately."""

from __future__ import annotations

import statistics
from typing import Any

from parley.config import Settings
from parley.models.local.files import local_available
from parley.providers import BUILTIN, Router
from parley.store import LogStore

RECENT = 50  # log entries read for the typical durations


def status(settings: Settings, store: LogStore | None) -> dict[str, Any]:
    router = Router(settings, None)
    keyed = [p.name for p in BUILTIN if p.key_env and settings.var(p.key_env)]
    seconds = [e.seconds for e in store.recent(RECENT) if e.seconds] if store else []
    return {
        "providers_with_keys": keyed + sorted(settings.providers),
        "remote_ready": router.has_remote_key(),
        "offline_models": local_available(),
        "default_preset": settings.preset,
        "presets": {
            name: {"models": list(p.analysis_models), "judge": p.model}
            for name, p in sorted(settings.presets.items())
        },
        "deadline_s": settings.mcp_deadline_s,
        "typical_seconds": (
            {"median": round(statistics.median(seconds), 1), "max": round(max(seconds), 1)}
            if seconds
            else None
        ),
    }
