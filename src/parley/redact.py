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
import functools
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
        """`raw` bytes (JSON, as a rule) with every credential masked, written as it is
        or with characters JSON-escaped (`\\u0073k-...`, `\\/`): decoded, those are the
        same text."""
        for secret in self._bytes:
            if secret in raw:
                raw = raw.replace(secret, MASK.encode())
        if b"\\u" in raw or b"\\/" in raw:
            for pattern in self._escaped:
                raw = pattern.sub(MASK.encode(), raw)
        return raw

    @functools.cached_property
    def _escaped(self) -> tuple[re.Pattern[bytes], ...]:
        return tuple(_escaped_form(s) for s in self._text)

    def stream(self) -> StreamRedactor:
        """A redactor for one text that arrives in pieces (a stream's deltas)."""
        return StreamRedactor(self)

    def held_back(self, text: str) -> int:
        """How many characters at the end of `text` could begin a credential."""
        longest = 0
        for secret in self._text:
            start = max(0, len(text) - len(secret) + 1)
            at = text.find(secret[0], start)
            while at != -1:
                if secret.startswith(text[at:]):
                    longest = max(longest, len(text) - at)
                    break
                at = text.find(secret[0], at + 1)
        return longest


class StreamRedactor:
    """Masks credentials in a text that arrives in pieces: a credential may be split
    across two deltas, so a piece's end that could begin one is held back until the next
    piece (or the end) shows whether it does."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held = ""

    def feed(self, piece: str, *, last: bool = False) -> str:
        """What of the text so far can be passed on; with `last` (nothing more is coming
        to complete a credential), all of it."""
        if not self._redactor:
            return piece
        text = self._redactor.text(self._held + piece)
        keep = 0 if last else self._redactor.held_back(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    @property
    def holding(self) -> bool:
        """Whether a piece's end is held back, waiting for the next."""
        return bool(self._held)

    def end(self) -> str:
        """The rest (it did not complete a credential)."""
        rest, self._held = self._held, ""
        return rest


def _escaped_form(secret: str) -> re.Pattern[bytes]:
    """`secret` in JSON with any of its characters escaped as \\uXXXX (or `/` as `\\/`)."""
    parts = []
    for ch in secret:
        code = f"{ord(ch):04x}"
        hexes = "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in code)
        options = [re.escape(ch.encode()), rb"\\u" + hexes.encode()]
        if ch == "/":
            options.append(rb"\\/")
        parts.append(b"(?:" + b"|".join(options) + b")")
    return re.compile(b"".join(parts))


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
