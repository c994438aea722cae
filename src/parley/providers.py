"""Model id -> where it runs and with which key.

Routing, first match wins:
1. models passed in by the caller (fakes, custom ChatModel objects), by exact id;
2. `local/<name>`: the bundled or configured GGUF models, in-process;
3. a provider declared in the config file, by its prefix (default `<name>/`);
4. an id without a slash (`gpt-4.1`): OpenAI;
5. `vendor/model`: OpenRouter; except that `openai/<m>` goes to OpenAI directly when only
   an OpenAI key is configured, so OpenAI users need no OpenRouter account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from parley import _constants as C
from parley.config import ENV_VARS, Settings, load_keys
from parley.errors import MissingKeyError
from parley.http import Bounds
from parley.models.base import ChatModel, Forwarding
from parley.models.http import ChatCompletionsModel
from parley.models.local.files import local_available
from parley.models.retry import CircuitBreaker, RetryPolicy
from parley.redact import Redactor, credential_forms, is_credential_header, url_credentials


@dataclass(frozen=True)
class BuiltinProvider:
    """A provider Parley knows without any config: the variables that hold its key and
    override its URL, and the headers it is sent."""

    name: str
    key_env: str
    url_env: str
    default_url: str
    headers: tuple[tuple[str, str], ...] = ()

    def base_url(self, settings: Settings) -> str:
        """The URL in force: the `url_env` variable, else the public API."""
        return settings.var(self.url_env) or self.default_url


OPENROUTER = BuiltinProvider(
    "openrouter",
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    C.OPENROUTER_BASE_URL,
    (("HTTP-Referer", "https://github.com/parley-llm/parley"), ("X-Title", "Parley")),
)
OPENAI = BuiltinProvider("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", C.OPENAI_BASE_URL)
# The one table of built-in providers: routing, `parley keys` and `parley models` read it.
BUILTIN: tuple[BuiltinProvider, ...] = (OPENROUTER, OPENAI)


@dataclass(frozen=True)
class Route:
    """Where one model id goes: the provider, its URL, the id it knows, and the key."""

    provider: str
    base_url: str
    upstream_model: str
    # Kept out of repr: a Route in a log line or an assertion diff must not show the key.
    api_key: str | None = field(repr=False)
    key_env: str | None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class Router:
    """Resolves model ids to ChatModel objects; one per process, sharing one HTTP session."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession | None,
        *,
        models: Mapping[str, ChatModel] | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.models = dict(models or {})
        self._keys: dict[str, str] | None = None
        self._cache: dict[str, ChatModel] = {}
        self._forwarding: dict[str, Forwarding] = {}
        self._routes: dict[str, Route] = {}
        self._bounds = Bounds(
            connect_s=settings.upstream_connect_timeout,
            first_byte_s=settings.upstream_first_byte_timeout,
            idle_s=settings.upstream_idle_timeout,
            total_s=settings.upstream_timeout,
            pool_s=settings.upstream_pool_timeout,
        )
        self._retry = RetryPolicy(retries=settings.upstream_retries)
        # One per provider: a provider that fails most calls is left alone for a while.
        self.breakers: dict[str, CircuitBreaker] = {}
        self._redactor: Redactor | None = None

    @property
    def redactor(self) -> Redactor:
        """Masks every credential this router can send (see `credentials`)."""
        if self._redactor is None:
            self._redactor = Redactor(self.credentials())
        return self._redactor

    def credentials(self) -> list[str]:
        """Every credential the settings hold: provider keys (environment and keys file),
        the other secret variables (search services, the gateway's API keys), configured
        header values, and user-info in any provider's base URL."""
        if self._keys is None:
            self._keys = load_keys(self.settings.env)
        out: list[str] = list(self._keys.values())
        out += [self.settings.var(v.name) or "" for v in ENV_VARS if v.secret]
        for p in BUILTIN:
            out.append(self.settings.var(p.key_env) or "")
            out += url_credentials(p.base_url(self.settings))
        for prov in self.settings.providers.values():
            if prov.key_env:
                out.append(self.settings.var(prov.key_env) or "")
            out += url_credentials(prov.base_url)
            for name, value in prov.headers.items():
                if is_credential_header(name, value):
                    out += credential_forms(value)
        return [c for v in out for c in credential_forms(v) if c]

    def _key(self, provider: str, env_var: str | None) -> str | None:
        # The environment wins over the keys file, so a one-off `VAR=... parley` works.
        key = self.settings.var(env_var) if env_var else None
        if key:
            return key
        if self._keys is None:
            self._keys = load_keys(self.settings.env)
        return self._keys.get(provider)

    def has_remote_key(self) -> bool:
        """Whether any remote provider is usable without further setup."""
        if any(self._key(p.name, p.key_env) or self.settings.var(p.url_env) for p in BUILTIN):
            return True
        return bool(self.settings.providers)

    def route(self, model_id: str) -> Route:
        """Which provider serves `model_id` (see the module docstring for the order)."""
        # Asked for every call of every panelist: worked out once per model id (the
        # settings and the keys file are read once per router). Model ids come from
        # clients, so the memo is bounded.
        found = self._routes.get(model_id)
        if found is None:
            if len(self._routes) >= C.ROUTE_MEMO_MAX:
                self._routes.clear()
            found = self._routes[model_id] = self._route(model_id)
        return found

    def _route(self, model_id: str) -> Route:
        for name, prov in self.settings.providers.items():
            prefix = prov.prefix if prov.prefix is not None else f"{name}/"
            if model_id.startswith(prefix):
                return Route(
                    name,
                    prov.base_url,
                    model_id[len(prefix) :],
                    self._key(name, prov.key_env),
                    prov.key_env,
                    tuple(prov.headers.items()),
                )
        or_key = self._key(OPENROUTER.name, OPENROUTER.key_env)
        oa_key = self._key(OPENAI.name, OPENAI.key_env)
        if "/" not in model_id or (model_id.startswith("openai/") and oa_key and not or_key):
            upstream, builtin, key = model_id.removeprefix("openai/"), OPENAI, oa_key
        else:
            upstream, builtin, key = model_id, OPENROUTER, or_key
        return Route(
            builtin.name,
            builtin.base_url(self.settings),
            upstream,
            key,
            builtin.key_env,
            builtin.headers,
        )

    def serves_openrouter(self, model_id: str) -> bool:
        """Whether `model_id` goes to OpenRouter (whose own server tools it can then use)."""
        if model_id in self.models or model_id.startswith("local/"):
            return False
        return self.route(model_id).provider == OPENROUTER.name

    def forwarding(self, model_id: str, *, responses: bool = False) -> Forwarding | None:
        """The model for `model_id` if it can pass a client's request through as it came
        (an HTTP upstream; with `responses`, one whose provider is configured to take the
        Responses API, `responses_upstreams`); None for in-process and injected models."""
        self.resolve(model_id)
        model = self._forwarding.get(model_id)
        if model is None or not responses:
            return model
        return model if self.route(model_id).provider in self.settings.responses_upstreams else None

    def resolve(self, model_id: str) -> ChatModel:
        """The ChatModel for `model_id`, built once and cached; MissingKeyError when a
        public API needs a key nobody set."""
        if model_id in self.models:
            return self.models[model_id]
        cached = self._cache.get(model_id)
        if cached is not None:
            return cached
        model: ChatModel
        if model_id.startswith("local/"):
            from parley.models.local.model import local_model

            model = local_model(model_id, self.settings.local)
        else:
            route = self.route(model_id)
            default_url = route.base_url in {p.default_url for p in BUILTIN}
            # A custom server (Ollama, vLLM, a test double) may need no key; the public
            # APIs always do, so say which variable to set before we send anything.
            if route.api_key is None and default_url and route.key_env:
                hint = self._missing_key_hint(route, model_id)
                raise MissingKeyError(route.provider, route.key_env, hint, model_id)
            if self.session is None:
                raise RuntimeError("Router needs an HTTP session to reach remote models")
            if len(self._forwarding) >= C.ROUTE_MEMO_MAX:
                self._forget_remote()
            model = self._forwarding[model_id] = ChatCompletionsModel(
                self.session,
                base_url=route.base_url,
                upstream_model=route.upstream_model,
                model_id=model_id,
                api_key=route.api_key,
                extra_headers=dict(route.headers),
                openai_api=route.provider == OPENAI.name,
                bounds=self._bounds,
                retry=self._retry,
                breaker=self.breakers.setdefault(route.provider, CircuitBreaker(route.provider)),
                redactor=self.redactor,
            )
        self._cache[model_id] = model
        return model

    def _forget_remote(self) -> None:
        # Model ids come from clients: the remote models built for them are cheap to build
        # again, so past the bound they are forgotten. Local models hold their weights and
        # are few (an unknown local id is refused before it is cached): they stay.
        self._forwarding.clear()
        self._cache = {k: m for k, m in self._cache.items() if k.startswith("local/")}

    def _missing_key_hint(self, route: Route, model_id: str) -> str:
        has_openrouter = self._key(OPENROUTER.name, OPENROUTER.key_env)
        if route.provider == OPENAI.name and "/" not in model_id and has_openrouter:
            # The likely slip: an OpenRouter user writing OpenAI's spelling of the id.
            return (
                "An id without a slash goes to OpenAI; `vendor/model` ids go to OpenRouter, "
                f"whose key is set (e.g. 'openai/{model_id}')."
            )
        if local_available():
            return ""
        return "Or try Parley offline on small demo models: pip install 'parley-llm[local]'."
