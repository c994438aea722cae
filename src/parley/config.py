"""Settings: built-in defaults < config file (TOML) < environment < flags.

The config file lives in the user config directory (`parley config path` prints it) or
wherever `PARLEY_CONFIG` points. Example:

    model = "openai/gpt-4.1"             # the outer model
    judge = "anthropic/claude-sonnet-4.5"
    preset = "general-budget"            # default panel comes from this preset ...
    panel = ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"]   # ... unless set here

    [presets.my-panel]
    analysis_models = ["ollama/llama3.2", "ollama/qwen2.5"]
    model = "ollama/qwen2.5"

    [providers.ollama]                   # any OpenAI-compatible server
    base_url = "http://localhost:11434/v1"
    key_env = "OLLAMA_API_KEY"           # optional: the variable that holds its key
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley import _constants as C
from parley.errors import ConfigError


class _Strict(BaseModel):
    """Unknown keys are errors, so a typo in the config file is reported, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Preset(_Strict):
    """A named panel: the panel, and optionally the judge and the outer model."""

    analysis_models: list[str] = Field(min_length=C.PANEL_MIN, max_length=C.PANEL_MAX)
    model: str | None = None
    outer: str | None = None


class ProviderConfig(_Strict):
    """An OpenAI-compatible server; model ids `<prefix><name>` go to it."""

    base_url: str
    key_env: str | None = None
    prefix: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class LocalConfig(_Strict):
    """Local GGUF models: `models` maps a name (used as `local/<name>`) to a file path."""

    models: dict[str, str] = Field(default_factory=dict)
    threads: int | None = None
    context: int | None = None


class Settings(_Strict):
    """Everything configurable, merged by `load_settings`: which models to use (outer,
    judge, panel or preset), named presets, extra providers, local models, and logging.

    The two rules for picking models a request leaves unnamed live here
    (`outer_model_for`, `judge_for`), so every surface picks the same ones.
    """

    model: str | None = None
    judge: str | None = None
    panel: list[str] | None = Field(default=None, min_length=C.PANEL_MIN, max_length=C.PANEL_MAX)
    preset: str = C.DEFAULT_PRESET
    presets: dict[str, Preset] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    local: LocalConfig = Field(default_factory=LocalConfig)
    log: bool = True
    # The gateway serves other people's traffic: it logs only when told to.
    log_gateway: bool = False

    def preset_named(self, name: str) -> Preset:
        """The preset called `name`; ConfigError listing the known ones otherwise."""
        try:
            return self.presets[name]
        except KeyError:
            known = ", ".join(sorted(self.presets)) or "none"
            raise ConfigError(
                f"Unknown preset {name!r}; known presets: {known}. "
                "Define it under [presets.NAME] in the config file."
            ) from None

    def outer_model_for(self, preset_name: str | None = None) -> str:
        """The outer model when a request names a preset (an alias) rather than a model:
        the preset's `outer`, else the configured `model`, else the preset's judge, else
        its first panelist.

        Args:
            preset_name: the preset; by default the `preset` setting. Unknown: ConfigError.
        """
        p = self.preset_named(preset_name or self.preset)
        return p.outer or self.model or p.model or p.analysis_models[0]

    def judge_for(self, panel: Sequence[str], *, outer: str | None = None) -> str:
        """The judge when the fusion parameters name none.

        The configured `judge`, else the outer model (`outer`, when fusion runs as a
        tool), else the default preset's judge, else the first panelist of `panel`.
        """
        preset = self.presets.get(self.preset)
        return self.judge or outer or (preset.model if preset and preset.model else panel[0])


# OpenRouter's own "latest" slugs, so the defaults do not go stale as models are released.
BUILTIN_PRESETS: dict[str, dict[str, Any]] = {
    "general-high": {
        "analysis_models": [
            "~anthropic/claude-opus-latest",
            "~openai/gpt-latest",
            "~google/gemini-pro-latest",
        ],
        "model": "~anthropic/claude-opus-latest",
    },
    "general-budget": {
        "analysis_models": [
            "~anthropic/claude-sonnet-latest",
            "~openai/gpt-mini-latest",
            "~google/gemini-flash-latest",
        ],
        "model": "~anthropic/claude-sonnet-latest",
    },
    "general-fast": {
        "analysis_models": [
            "~openai/gpt-mini-latest",
            "~google/gemini-flash-latest",
            "~anthropic/claude-haiku-latest",
        ],
        "model": "~google/gemini-flash-latest",
    },
}

ENV_SETTINGS = {
    "PARLEY_MODEL": "model",
    "PARLEY_JUDGE": "judge",
    "PARLEY_PANEL": "panel",
    "PARLEY_PRESET": "preset",
}


def config_dir() -> Path:
    """The user config directory (holds config.toml and keys.json by default)."""
    return Path(platformdirs.user_config_dir(C.APP_NAME))


def data_dir() -> Path:
    """The user data directory (holds the log by default)."""
    return Path(platformdirs.user_data_dir(C.APP_NAME))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file: `PARLEY_CONFIG`, else config.toml in `config_dir()`."""
    env = os.environ if env is None else env
    override = env.get(C.CONFIG_ENV)
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def keys_path(env: Mapping[str, str] | None = None) -> Path:
    """The keys file: `PARLEY_KEYS`, else keys.json in `config_dir()`."""
    env = os.environ if env is None else env
    override = env.get("PARLEY_KEYS")
    return Path(override).expanduser() if override else config_dir() / "keys.json"


def load_keys(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Keys saved by `parley keys set`, by provider name."""
    path = keys_path(env)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the keys file ({exc}); fix or delete it") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the config file, the environment and flags, in that order."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {"presets": {k: dict(v) for k, v in BUILTIN_PRESETS.items()}}
    # Where each top-level key came from, so an error points at the layer to fix.
    origin: dict[str, str] = {}
    path = config_path(env)
    file_data = _read_toml(path)
    for key, value in file_data.items():
        if key == "presets" and isinstance(value, dict):
            merged["presets"].update(value)
        else:
            merged[key] = value
        origin[key] = str(path)
    for var, key in ENV_SETTINGS.items():
        if env.get(var):
            raw = env[var]
            merged[key] = (
                [m.strip() for m in raw.split(",") if m.strip()] if key == "panel" else raw
            )
            origin[key] = f"environment variable {var}"
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = value
            origin[key] = "the command line or caller"
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = origin.get(str(err["loc"][0]) if err["loc"] else "", str(path))
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
