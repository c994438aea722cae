"""One retry layer and one circuit breaker per provider, for every upstream model call.

Fusion multiplies every call by the panel size, so it multiplies every fault too: a 429
with `Retry-After`, a 502 that passes on the next try, a connection reset. A call is
retried (jittered exponential backoff, `Retry-After` honoured up to a bound) on connection
errors, 408, 409, 429 and 5xx, never once a byte of a stream has reached its consumer.

A provider that fails most of its calls in a window is not hammered further: its breaker
opens and calls fail at once (503, saying when it will try again), until a cool-down has
passed; then one probe call goes through, and its outcome closes or reopens the breaker.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal

from parley.errors import Overloaded, UpstreamError

RETRYABLE = frozenset({408, 409, 429})

State = Literal["closed", "open", "half_open"]


def retryable(exc: UpstreamError) -> bool:
    """Worth another try: no status (a connection error) or a transient one; never
    Parley's own overload."""
    if isinstance(exc, Overloaded):
        return False
    code = exc.status_code
    return code is None or code in RETRYABLE or code >= 500


def counts_against_provider(exc: UpstreamError) -> bool:
    """A failure that says the provider is unwell (not the request's own fault, nor
    Parley's overload)."""
    if isinstance(exc, Overloaded):
        return False
    code = exc.status_code
    return code is None or code >= 500


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when: float = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long to wait before each try."""

    retries: int = 2
    base_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before try `attempt + 1` (attempt 0 is the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        step = min(self.max_s, self.base_s * 2.0**attempt)
        # Jitter, so that a panel of eight does not retry in step.
        return min(self.max_s, max(self.base_s, step * random.uniform(0.8, 1.2)))


@dataclass
class CircuitBreaker:
    """Per-provider: open when at least `min_calls` calls in the last `window_s` seconds
    were made and more than `failure_ratio` of them failed."""

    provider: str
    window_s: float = 60.0
    min_calls: int = 8
    failure_ratio: float = 0.5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: State = "closed"
    opened_at: float = 0.0
    _calls: deque[tuple[float, bool]] = field(default_factory=deque)
    _failed: int = 0
    _probing: bool = False
    _probe_at: float = 0.0

    def check(self) -> None:
        """Raise a 503 UpstreamError while open; let one probe through once the
        cool-down has passed."""
        if self.state == "closed":
            return
        now = self.clock()
        if self.state == "open" and now - self.opened_at >= self.cooldown_s:
            self.state = "half_open"
        # A probe that never reported back (cancelled by a deadline, a quorum or a client
        # leaving) must not keep the breaker shut: after another cool-down, probe again.
        stale = self._probing and now - self._probe_at >= self.cooldown_s
        if self.state == "half_open" and (not self._probing or stale):
            self._probing = True
            self._probe_at = now
            return
        wait = max(0.0, self.cooldown_s - (now - self.opened_at))
        raise UpstreamError(
            f"{self.provider} is failing most calls; not calling it for {wait:.0f} s more "
            "(circuit breaker open)",
            503,
        )

    def record(self, ok: bool) -> None:
        """One call's outcome (failures that are the request's own do not count)."""
        now = self.clock()
        if self.state == "half_open":
            self._probing = False
            self.state = "closed" if ok else "open"
            if not ok:
                self.opened_at = now
            self._calls.clear()
            self._failed = 0
            return
        # Counted as calls come and go, not summed: a busy provider has thousands of
        # calls in a window, and this runs on every one of them.
        self._calls.append((now, ok))
        self._failed += not ok
        while self._calls and now - self._calls[0][0] > self.window_s:
            self._failed -= not self._calls.popleft()[1]
        failed = self._failed
        if len(self._calls) >= self.min_calls and failed > self.failure_ratio * len(self._calls):
            self.state = "open"
            self.opened_at = now
