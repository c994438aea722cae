"""Credentials out of everything Parley quotes: errors, events, logs, responses, listings.

Upstreams echo what they were sent (a rejected key in a 401, the whole request in a
debugging proxy's error page), and Parley passes upstream text on: into an error body, a
stream's error event, `failed_models` (which then goes to another provider), the log. So
every credential Parley holds is collected once (`credential_forms`) into a `Redactor`,
and the places where text leaves are few: the adapter's errors, the gateway's writer, the
log store, the CLI's listings.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable

from yarl import URL

MASK = "***"
# Shorter values would be found inside ordinary words ("Parley", "true") and mangle them.
MIN_SECRET_LENGTH = 6

# Configured headers that are known not to carry credentials.
PUBLIC_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "content-type",
        "http-referer",
        "referer",
        "user-agent",
        "x-title",
        "openai-beta",
        "anthropic-version",
    }
)


_CREDENTIAL_NAME = re.compile(r"auth|key|token|secret|cookie|password|session", re.IGNORECASE)
_TOKEN_LIKE = re.compile(r"(?=\S*[A-Za-z])(?=\S*\d)\S{12,}")


def is_credential_header(name: str, value: str) -> bool:
    """Whether a configured header carries a credential: its name says so, or its value
    looks like a key (a long run of letters and digits), whatever the header is called."""
    if name.lower() in PUBLIC_HEADERS:
        return False
    return bool(_CREDENTIAL_NAME.search(name) or _TOKEN_LIKE.search(value))


def credential_forms(value: str) -> list[str]:
    """A credential and the parts of it an upstream may quote on its own: the token after
    an auth scheme (`Bearer sk-...` -> `sk-...`)."""
    value = value.strip()
    forms = [value]
    scheme, _, rest = value.partition(" ")
    if rest.strip() and scheme.isalpha():
        forms.append(rest.strip())
    return forms


def url_credentials(url: str) -> list[str]:
    """The secrets in a URL's user-info: the password, `user:password`, and the Basic
    token an HTTP client derives from them (it goes out in the Authorization header)."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return []
    user, password = parsed.user or "", parsed.password or ""
    if not password:
        return [user] if user else []
    pair = f"{user}:{password}"
    return [password, pair, base64.b64encode(pair.encode()).decode()]


class Redactor:
    """Replaces every known credential with `***`; cheap when none occurs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a key is not half-replaced by a shorter one inside it.
        kept = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self._text = tuple(sorted(kept, key=len, reverse=True))
        self._bytes = tuple(s.encode() for s in self._text)

    def __bool__(self) -> bool:
        return bool(self._text)

    def __repr__(self) -> str:  # never the values
        return f"Redactor({len(self._text)} secrets)"

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """This redactor and `secrets` too (the gateway adds its own API keys)."""
        return Redactor((*self._text, *secrets))

    def text(self, text: str) -> str:
        """`text` with every credential masked."""
        for secret in self._text:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def data(self, raw: bytes) -> bytes:
        """`raw` bytes with every credential masked (JSON does not escape a key's
        characters, so its bytes appear as they are)."""
        for secret in self._bytes:
            if secret in raw:
                raw = raw.replace(secret, MASK.encode())
        return raw


NO_SECRETS = Redactor()


def redact_url(url: str) -> str:
    """A URL fit to show: credentials in its user-info part are hidden."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return MASK
    if parsed.user or parsed.password:
        parsed = parsed.with_user(MASK).with_password(None)
    return str(parsed)


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and traceback."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            # Rendered now, masked, and cached where formatters look for it first.
            rendered = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor.text(rendered)
        return True


# The loggers whose messages may quote upstream text.
LOGGERS = ("parley.gateway", "parley.local")


def install_log_filter(redactor: Redactor) -> None:
    """Mask credentials in what Parley's loggers write (one filter per logger, replaced
    when a new redactor comes: a gateway restarted in-process has new keys)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(old)
        logger.addFilter(RedactingFilter(redactor))
