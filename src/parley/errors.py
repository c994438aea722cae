"""Parley's exceptions.

ParleyError
├── ConfigError            a config file or setting is wrong; names the file and key
├── MissingKeyError        a provider needs a key; names the variable to set
├── InvalidParameter       a request field is wrong; names the field (HTTP 400)
├── UnknownModelError      no provider routes this model id
├── MissingExtraError      an optional dependency is absent; names the pip extra
└── UpstreamError          an upstream answered with an error; keeps status and message
    ├── UpstreamTimeout    an upstream call ran past its bound
    └── Overloaded         no free connection to the upstream in time: Parley's own
                           overload, never counted against the provider
"""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every error Parley raises on purpose."""


class ConfigError(ParleyError):
    """The configuration is invalid."""


class MissingKeyError(ParleyError):
    """A provider needs an API key that is not configured."""

    def __init__(self, provider: str, env_var: str, hint: str = "", model: str = "") -> None:
        self.provider = provider
        self.env_var = env_var
        self.model = model
        wanted = f" to call {model!r}" if model else ""
        super().__init__(
            f"No API key for {provider}{wanted}: set {env_var} "
            f"(or run `parley keys set {provider}`)." + (f" {hint}" if hint else "")
        )


class InvalidParameter(ParleyError):
    """A request field is out of range or of the wrong type."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownModelError(ParleyError):
    """No provider routes the model id."""

    def __init__(self, model: str, hint: str = "") -> None:
        self.model = model
        super().__init__(f"Unknown model {model!r}. {hint}".strip())


class MissingExtraError(ParleyError):
    """An optional dependency is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs an extra: pip install 'parley-llm[{extra}]'")


class UpstreamError(ParleyError):
    """An upstream model call failed; status_code is the upstream's, when there was one;
    retry_after the seconds it asked to wait (`Retry-After`), when it said."""

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        model: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.model = model
        self.retry_after = retry_after
        super().__init__(message)


class UpstreamTimeout(UpstreamError):
    """An upstream call exceeded its time bound."""


class Overloaded(UpstreamError):
    """The call waited past its bound for a connection from Parley's own pool: nothing
    was sent, the provider is not at fault (its circuit breaker does not count it), and
    trying again at once would only queue again."""
