"""Fusion's ways in beside the server tool itself (contract section 1): the model aliases
(`openrouter/fusion`, `openrouter/fusion-flash`, and `parley/` spellings) and the `fusion`
plugin, which configures the same tool or turns it off for one request (`enabled: false`).

The planner asks `resolve()` what a request's model and plugins imply: the concrete outer
model, the fusion tool's parameters (to merge under those of an explicit fusion tool),
and whether fusion is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley.config import Settings
from parley.errors import InvalidParameter

ALIASES = {
    C.FUSION_ALIAS: None,
    C.FUSION_FLASH_ALIAS: C.FLASH_PRESET,
    C.PARLEY_FUSION_ALIAS: None,
    C.PARLEY_FUSION_FLASH_ALIAS: C.FLASH_PRESET,
    C.SLASHLESS_FUSION_ALIAS: None,
    C.SLASHLESS_FUSION_FLASH_ALIAS: C.FLASH_PRESET,
}
PLUGIN_FIELDS = {
    "id",
    "enabled",
    "preset",
    "analysis_models",
    "models",
    "model",
    "max_tool_calls",
    "tools",
    "max_completion_tokens",
    "reasoning",
    "temperature",
    "cache_control",
}


@dataclass
class Implied:
    """What the alias and plugins of a request imply for fusion."""

    outer_model: str
    parameters: dict[str, Any] | None  # None: neither asked for fusion
    where: str  # the request field the parameters came from, to name in an error
    withheld: bool  # a plugin said `enabled: false`


def preset_params(settings: Settings, name: str, where: str) -> dict[str, Any]:
    """A preset as fusion parameters (its panel and judge)."""
    presets = settings.presets
    if name not in presets:
        raise InvalidParameter(where, f"unknown preset {name!r}; known: {', '.join(presets)}")
    p = presets[name]
    out: dict[str, Any] = {"analysis_models": list(p.analysis_models)}
    if p.model:
        out["model"] = p.model
    return out


def is_fusion_plugin(x: Any) -> bool:
    return isinstance(x, dict) and x.get("id") == C.FUSION_TOOL


def resolve(model: str, plugins: list[Any], settings: Settings) -> Implied:
    """The outer model and fusion parameters that `model` (maybe an alias) and the
    request's `plugins` imply."""
    params: dict[str, Any] | None = None
    where = "model"
    withheld = False
    via_alias = model in ALIASES
    if via_alias:
        preset_name = ALIASES[model] or settings.preset
        params = preset_params(settings, preset_name, "model")
        if settings.alias_follows_config:
            if settings.panel:
                params["analysis_models"] = list(settings.panel)
            if settings.judge:
                params["model"] = settings.judge
        model = settings.outer_model_for(preset_name)
    for i, plugin in enumerate(plugins):
        if not is_fusion_plugin(plugin):
            continue
        at = f"plugins[{i}]"
        unknown = set(plugin) - PLUGIN_FIELDS
        if unknown:
            raise InvalidParameter(f"{at}.{sorted(unknown)[0]}", "unknown fusion plugin field")
        if plugin.get("enabled", True) is False:
            withheld = True
            continue
        merged = dict(params or {})
        if plugin.get("preset"):
            merged.update(preset_params(settings, str(plugin["preset"]), f"{at}.preset"))
        merged.update(
            {
                k: v
                for k, v in plugin.items()
                if k not in ("id", "enabled", "preset") and v is not None
            }
        )
        params, where = merged, at
        if via_alias:
            # With the alias the plugin chooses the outer model too: its `model` does the
            # analysis and the final synthesis (OpenRouter's FusionPlugin.model), else its
            # preset's outer model.
            if plugin.get("model"):
                model = str(plugin["model"])
            elif plugin.get("preset"):
                model = settings.outer_model_for(str(plugin["preset"]))
    return Implied(model, params, where, withheld)
