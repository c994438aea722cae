"""The offline default: with no provider key, `parley ask` runs bundled local models.

A new user without an API key still sees a whole deliberation: two different small GGUF
models answer, one judges, and it writes the final answer, all in-process and with no
network. Whatever the user did configure (model, panel, judge) is kept; only the missing
pieces are filled, and one line on stderr says what happened and how to use real models.
"""

from __future__ import annotations

from parley.config import Settings
from parley.models.local.files import GEMMA, SMOLLM2, local_available
from parley.providers import Router

OUTER = f"local/{SMOLLM2}"
JUDGE = f"local/{SMOLLM2}"
PANEL = (f"local/{SMOLLM2}", f"local/{GEMMA}")


def notice(settings: Settings) -> str:
    """The one line on stderr saying that demo models run, and how to use real ones."""
    return (
        f"parley: no API key found, so this runs small offline demo models "
        f"({', '.join(PANEL)}); expect rough answers. For real ones set OPENROUTER_API_KEY "
        f"(or run `parley keys set openrouter`), or name models in {settings.config_path()}."
    )


def apply(settings: Settings) -> tuple[Settings, str | None]:
    """Settings with the local defaults filled in when no remote provider is usable.

    Returns the settings and the notice to print on stderr, or the settings unchanged and
    None when a key is configured, the user named every model, or the `local` extra is
    not installed (then the missing-key error explains what to set).
    """
    if Router(settings, None).has_remote_key():
        return settings, None
    if not local_available():
        return settings, None
    update: dict[str, object] = {}
    if not settings.model:
        update["model"] = OUTER
    if not settings.panel:
        update["panel"] = list(PANEL)
    if not settings.judge:
        update["judge"] = JUDGE
    if not update:
        return settings, None
    return settings.model_copy(update=update), notice(settings)
