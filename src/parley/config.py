"""Settings: built-in defaults < config file (TOML) < environment < flags.

This is the one module that reads the environment. Every variable Parley reads is in
`ENV_VARS`, with the config-file key it sets (where it has one) and its default; the
README's table is checked against it. Credentials (provider and search-service keys, the
gateway's API keys) come from the environment or the keys file only, never the config
file, and `Settings` keeps them out of what it dumps: `settings.var(NAME)` reads one.

The config file lives in the user config directory (`parley config path` prints it) or
wherever `PARLEY_CONFIG` points. Example:

    model = "openai/gpt-4.1"             # the outer model
    judge = "anthropic/claude-sonnet-4.5"
    preset = "general-budget"            # default panel comes from this preset ...
    panel = ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"]   # ... unless set here
    upstream_timeout = 120               # seconds, every upstream model call

    [presets.my-panel]
    analysis_models = ["ollama/llama3.2", "ollama/qwen2.5"]
    model = "ollama/qwen2.5"

    [providers.ollama]                   # any OpenAI-compatible server
    base_url = "http://localhost:11434/v1"
    key_env = "OLLAMA_API_KEY"           # optional: the variable that holds its key

    [web]
    search = "searxng"                   # or brave, tavily, exa, ddgs, local, off
    searxng_url = "http://localhost:8888"
    allow_private = ["intranet.example", "10.1.0.0/16"]

    [gateway]
    max_body = 20971520
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from parley import _constants as C
from parley.errors import ConfigError


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: what it sets in the config file (`key`, dotted; empty
    when it has no file equivalent), its default, and what it is for."""

    name: str
    key: str
    default: str
    doc: str
    secret: bool = False


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("PARLEY_CONFIG", "", "config.toml in the user config directory", "the config file"),
    EnvVar("PARLEY_KEYS", "", "keys.json in the user config directory", "the keys file"),
    EnvVar("PARLEY_MODEL", "model", "the preset's outer model", "the outer model"),
    EnvVar("PARLEY_JUDGE", "judge", "the outer model", "the judge (analyst)"),
    EnvVar("PARLEY_PANEL", "panel", "the preset's panel", "the panel, comma-separated"),
    EnvVar("PARLEY_PRESET", "preset", C.DEFAULT_PRESET, "the preset for the panel"),
    EnvVar(
        "PARLEY_UPSTREAM_TIMEOUT",
        "upstream_timeout",
        f"{C.UPSTREAM_TOTAL_TIMEOUT_S:g}",
        "seconds an upstream model call may take in all",
    ),
    EnvVar(
        "PARLEY_UPSTREAM_CONNECT_TIMEOUT",
        "upstream_connect_timeout",
        f"{C.UPSTREAM_CONNECT_TIMEOUT_S:g}",
        "seconds to connect to an upstream",
    ),
    EnvVar(
        "PARLEY_UPSTREAM_FIRST_BYTE_TIMEOUT",
        "upstream_first_byte_timeout",
        f"{C.UPSTREAM_FIRST_BYTE_TIMEOUT_S:g}",
        "seconds until a streamed call's first byte",
    ),
    EnvVar(
        "PARLEY_UPSTREAM_IDLE_TIMEOUT",
        "upstream_idle_timeout",
        f"{C.UPSTREAM_IDLE_TIMEOUT_S:g}",
        "seconds a stream may go silent",
    ),
    EnvVar(
        "PARLEY_UPSTREAM_POOL_TIMEOUT",
        "upstream_pool_timeout",
        f"{C.UPSTREAM_POOL_TIMEOUT_S:g}",
        "seconds a call may wait for a free upstream connection (past it: 503, overloaded)",
    ),
    EnvVar(
        "PARLEY_UPSTREAM_RETRIES",
        "upstream_retries",
        str(C.UPSTREAM_RETRIES),
        "retries of a failed upstream call (429, 5xx, connection errors)",
    ),
    EnvVar(
        "PARLEY_MAX_UPSTREAM_CALLS",
        "max_upstream_calls",
        str(C.MAX_UPSTREAM_CALLS),
        "upstream model calls one request may make, inner ones included",
    ),
    EnvVar(
        "PARLEY_MCP_DEADLINE",
        "mcp_deadline_s",
        f"{C.MCP_DEADLINE_S:g}",
        "seconds an MCP `deliberate` panel waits before the judge works from who answered",
    ),
    EnvVar("PARLEY_LOG_DB", "log_db", "logs.db in the user data directory", "the log"),
    EnvVar(
        "PARLEY_MODELS_DIR",
        "local.models_dir",
        "models/ in the user cache directory",
        "where prepared local model files are kept",
    ),
    EnvVar("PARLEY_API_KEYS", "", "none (no check)", "gateway API keys, comma-separated", True),
    EnvVar(
        "PARLEY_MAX_BODY_BYTES",
        "gateway.max_body",
        str(C.GATEWAY_MAX_BODY_BYTES),
        "largest request body the gateway reads",
    ),
    EnvVar(
        "PARLEY_MAX_IN_FLIGHT",
        "gateway.max_in_flight",
        str(C.GATEWAY_MAX_IN_FLIGHT),
        "deliberations the gateway runs at once (past it: 429)",
    ),
    EnvVar(
        "PARLEY_MAX_QUESTION_BYTES",
        "gateway.max_question",
        str(C.GATEWAY_MAX_QUESTION_BYTES),
        "largest request body sent to a panel (past it: 413)",
    ),
    EnvVar(
        "PARLEY_READ_TIMEOUT",
        "gateway.read_timeout",
        f"{C.GATEWAY_READ_TIMEOUT_S:g}",
        "seconds a client may take to send its request body (past it: 408)",
    ),
    EnvVar(
        "PARLEY_SHUTDOWN_GRACE",
        "gateway.shutdown_grace",
        f"{C.GATEWAY_SHUTDOWN_GRACE_S:g}",
        "seconds running requests may take to finish when the gateway stops",
    ),
    EnvVar(
        "PARLEY_HEALTH_PORT",
        "gateway.health_port",
        "none (the API's port only)",
        "a port of its own for /health and /ready, answered however busy the gateway is",
    ),
    EnvVar(
        "PARLEY_HEALTH_HOST",
        "gateway.health_host",
        C.GATEWAY_HOST,
        "the address the health port binds (`parley serve` sets it to its --host)",
    ),
    EnvVar("PARLEY_SEARCH", "web.search", "the first backend configured", "web_search backend"),
    EnvVar("PARLEY_SEARCH_DIR", "web.search_dir", "none", "a folder searched offline (BM25)"),
    EnvVar("PARLEY_WEB_FETCH", "web.fetch", "on", "`off` turns web_fetch off"),
    EnvVar(
        "PARLEY_ALLOW_PRIVATE_URLS",
        "web.allow_private",
        "none",
        "private hosts, IPs or CIDRs web_fetch may reach, comma-separated",
    ),
    EnvVar("SEARXNG_URL", "web.searxng_url", "none", "a SearXNG instance (JSON format on)"),
    EnvVar("BRAVE_API_KEY", "", "none", "Brave Search key", True),
    EnvVar("BRAVE_BASE_URL", "web.brave_base_url", "Brave's API", "Brave Search API URL"),
    EnvVar("TAVILY_API_KEY", "", "none", "Tavily key", True),
    EnvVar("TAVILY_BASE_URL", "web.tavily_base_url", "Tavily's API", "Tavily API URL"),
    EnvVar("EXA_API_KEY", "", "none", "Exa key", True),
    EnvVar("EXA_BASE_URL", "web.exa_base_url", "Exa's API", "Exa API URL"),
    EnvVar("OPENROUTER_API_KEY", "", "the keys file", "OpenRouter key", True),
    EnvVar("OPENROUTER_BASE_URL", "", C.OPENROUTER_BASE_URL, "OpenRouter API URL"),
    EnvVar("OPENAI_API_KEY", "", "the keys file", "OpenAI key", True),
    EnvVar("OPENAI_BASE_URL", "", C.OPENAI_BASE_URL, "OpenAI API URL"),
    EnvVar("PARLEY_DEBUG", "", "off", "show tracebacks of unexpected errors"),
)
_BY_KEY = {v.key: v.name for v in ENV_VARS if v.key}
_LISTS = {"panel", "web.allow_private"}
_SWITCHES = {"web.fetch"}


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
    models_dir: str | None = None

    def cache_dir(self) -> Path:
        """Where prepared model files live (shared by every run)."""
        if self.models_dir:
            return Path(self.models_dir).expanduser()
        return Path(platformdirs.user_cache_dir(C.APP_NAME)) / "models"


class WebConfig(_Strict):
    """The web tools: which search backend, where it is, and what web_fetch may reach."""

    search: str | None = None
    search_dir: str | None = None
    fetch: bool = True
    allow_private: list[str] = Field(default_factory=list)
    searxng_url: str | None = None
    brave_base_url: str | None = None
    tavily_base_url: str | None = None
    exa_base_url: str | None = None


class GatewayConfig(_Strict):
    """`parley serve`'s limits."""

    max_body: int = Field(default=C.GATEWAY_MAX_BODY_BYTES, gt=0)
    # Host headers `/mcp` answers (the SDK's DNS-rebinding guard; `host:*` takes any
    # port). Loopback by default; a gateway behind a public name lists that name here.
    mcp_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"])
    max_in_flight: int = Field(default=C.GATEWAY_MAX_IN_FLIGHT, gt=0)
    max_question: int = Field(default=C.GATEWAY_MAX_QUESTION_BYTES, gt=0)
    read_timeout: float = Field(default=C.GATEWAY_READ_TIMEOUT_S, gt=0)
    shutdown_grace: float = Field(default=C.GATEWAY_SHUTDOWN_GRACE_S, ge=0)
    # /health and /ready on a port of their own, answered by a child process (0: any free port).
    health_port: int | None = Field(default=None, ge=0, le=65535)
    health_host: str = C.GATEWAY_HOST


class Settings(_Strict):
    """Everything configurable, merged by `load_settings`: which models to use (outer,
    judge, panel or preset), named presets, extra providers, local models, the web tools,
    the gateway, logging; and the environment it was loaded from, for credentials.

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
    web: WebConfig = Field(default_factory=WebConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    upstream_timeout: float = Field(default=C.UPSTREAM_TOTAL_TIMEOUT_S, gt=0)
    upstream_connect_timeout: float = Field(default=C.UPSTREAM_CONNECT_TIMEOUT_S, gt=0)
    upstream_first_byte_timeout: float = Field(default=C.UPSTREAM_FIRST_BYTE_TIMEOUT_S, gt=0)
    upstream_idle_timeout: float = Field(default=C.UPSTREAM_IDLE_TIMEOUT_S, gt=0)
    upstream_pool_timeout: float = Field(default=C.UPSTREAM_POOL_TIMEOUT_S, gt=0)
    upstream_retries: int = Field(default=C.UPSTREAM_RETRIES, ge=0, le=10)
    max_upstream_calls: int = Field(default=C.MAX_UPSTREAM_CALLS, ge=1)
    # MCP hosts give a tool call about 60 s; the panel stops at this so the judge and the
    # answer still fit inside it.
    mcp_deadline_s: float = Field(default=C.MCP_DEADLINE_S, gt=0, le=C.DEADLINE_MAX_S)
    # The `openrouter/fusion` alias takes the preset's panel and judge, as OpenRouter's
    # does; with this, the `panel` and `judge` set here win, as they do everywhere else.
    alias_follows_config: bool = False
    log: bool = True
    # The gateway serves other people's traffic: it logs only when told to.
    log_gateway: bool = False
    log_db: str | None = None
    # Providers whose own Responses API takes a Responses request with no server tool,
    # untouched; for every other model it is translated to Chat Completions.
    responses_upstreams: list[str] = Field(default_factory=lambda: ["openrouter", "openai"])
    # Credentials are read from here on demand; never dumped, never in a repr.
    _env: dict[str, str] = PrivateAttr(default_factory=dict)

    def var(self, name: str) -> str | None:
        """The environment variable `name` as loaded, or None when unset or blank: for
        credentials, and for variables a component names itself (a provider's `key_env`,
        the built-in providers' URLs)."""
        value = self._env.get(name, "").strip()
        return value or None

    @property
    def env(self) -> Mapping[str, str]:
        """The environment these settings were loaded from (a snapshot)."""
        return self._env

    def with_env(self, env: Mapping[str, str]) -> Settings:
        """These settings reading credentials from `env` instead."""
        copy = self.model_copy()
        copy._env = dict(env)
        return copy

    @property
    def api_keys(self) -> list[str]:
        """The gateway's API keys (`PARLEY_API_KEYS`, comma-separated)."""
        return [k.strip() for k in self._env.get("PARLEY_API_KEYS", "").split(",") if k.strip()]

    @property
    def debug(self) -> bool:
        return debug_enabled(self._env)

    def log_path(self) -> Path:
        """The log file: `log_db`, else logs.db in the user data directory."""
        return Path(self.log_db).expanduser() if self.log_db else data_dir() / "logs.db"

    def keys_path(self) -> Path:
        """The keys file (`parley keys`)."""
        return keys_path(self._env)

    def config_path(self) -> Path:
        """The config file these settings read."""
        return config_path(self._env)

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


def environment() -> dict[str, str]:
    """A snapshot of the process environment: the one read of `os.environ`."""
    return dict(os.environ)


def export(values: Mapping[str, str]) -> None:
    """Set environment variables for child processes that load settings on their own
    (`parley serve --workers N` runs one uvicorn worker per process)."""
    os.environ.update(values)


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """`PARLEY_DEBUG`: unexpected errors show their traceback."""
    return bool((environment() if env is None else env).get("PARLEY_DEBUG"))


def config_dir() -> Path:
    """The user config directory (holds config.toml and keys.json by default)."""
    return Path(platformdirs.user_config_dir(C.APP_NAME))


def data_dir() -> Path:
    """The user data directory (holds the log by default)."""
    return Path(platformdirs.user_data_dir(C.APP_NAME))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file: `PARLEY_CONFIG`, else config.toml in `config_dir()`."""
    env = environment() if env is None else env
    override = env.get(C.CONFIG_ENV)
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def keys_path(env: Mapping[str, str] | None = None) -> Path:
    """The keys file: `PARLEY_KEYS`, else keys.json in `config_dir()`."""
    env = environment() if env is None else env
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


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = tree[part] = {}
        tree = child
    tree[last] = value


def _from_env(key: str, raw: str) -> Any:
    if key in _LISTS:
        return [m.strip() for m in raw.split(",") if m.strip()]
    if key in _SWITCHES:
        return raw.strip().lower() not in ("0", "off", "false", "no")
    return raw.strip()


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Merge defaults, the config file, the environment and flags, in that order."""
    env = environment() if env is None else dict(env)
    merged: dict[str, Any] = {"presets": {k: dict(v) for k, v in BUILTIN_PRESETS.items()}}
    # Where each top-level key came from, so an error points at the layer to fix.
    origin: dict[str, str] = {}
    path = config_path(env)
    for key, value in _read_toml(path).items():
        if key == "presets" and isinstance(value, dict):
            merged["presets"].update(value)
        else:
            merged[key] = value
        origin[key] = str(path)
    for key, var in _BY_KEY.items():
        if env.get(var, "").strip():
            _set(merged, key, _from_env(key, env[var]))
            origin[key.split(".")[0]] = f"environment variable {var}"
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = value
            origin[key] = "the command line or caller"
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = origin.get(str(err["loc"][0]) if err["loc"] else "", str(path))
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None
    settings._env = env
    return settings


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
