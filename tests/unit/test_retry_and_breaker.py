"""The retry policy and the per-provider circuit breaker, on a clock the test moves."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from parley.errors import UpstreamError
from parley.models.retry import (
    CircuitBreaker,
    RetryPolicy,
    counts_against_provider,
    parse_retry_after,
    retryable,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tripped(clock: Clock) -> CircuitBreaker:
    breaker = CircuitBreaker("openrouter", clock=clock)
    for _ in range(8):
        breaker.check()
        breaker.record(False)
    assert breaker.state == "open"
    return breaker


def test_most_calls_failing_opens_the_breaker_and_calls_fail_at_once() -> None:
    breaker = tripped(Clock())
    with pytest.raises(UpstreamError) as caught:
        breaker.check()
    assert caught.value.status_code == 503 and "circuit breaker open" in caught.value.message


def test_a_few_failures_among_successes_keep_it_closed() -> None:
    breaker = CircuitBreaker("openrouter", clock=Clock())
    for ok in [True, False, True, False, True, True, False, True, True, True]:
        breaker.record(ok)
    assert breaker.state == "closed"
    breaker.check()


def test_after_the_cooldown_one_probe_goes_through_and_its_outcome_decides() -> None:
    clock = Clock()
    breaker = tripped(clock)
    clock.now += breaker.cooldown_s
    breaker.check()  # the probe
    with pytest.raises(UpstreamError):
        breaker.check()  # only one at a time
    breaker.record(True)
    assert breaker.state == "closed"
    breaker.check()

    breaker = tripped(clock)
    clock.now += breaker.cooldown_s
    breaker.check()
    breaker.record(False)
    assert breaker.state == "open"
    with pytest.raises(UpstreamError):
        breaker.check()


def test_a_probe_that_never_reports_back_does_not_keep_it_shut() -> None:
    clock = Clock()
    breaker = tripped(clock)
    clock.now += breaker.cooldown_s
    breaker.check()  # this probe is cancelled (a deadline, a quorum): no record()
    clock.now += breaker.cooldown_s
    breaker.check()  # another probe is let through
    breaker.record(True)
    assert breaker.state == "closed"


def test_only_transient_failures_are_retried_and_only_the_providers_own_count() -> None:
    assert retryable(UpstreamError("x", None))  # a connection error
    assert all(retryable(UpstreamError("x", s)) for s in (408, 409, 429, 500, 502, 503))
    assert not any(retryable(UpstreamError("x", s)) for s in (400, 401, 403, 404, 422))
    assert counts_against_provider(UpstreamError("x", 500))
    assert not counts_against_provider(UpstreamError("x", 429))


def test_retry_after_is_honoured_up_to_its_bound_and_backoff_is_jittered() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, retry_after=2.0) == 2.0
    assert policy.delay(0, retry_after=3600.0) == policy.max_retry_after_s
    for attempt in range(6):
        assert policy.base_s <= policy.delay(attempt) <= policy.max_s
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
    when = parse_retry_after(formatdate(2_000_000_030, usegmt=True), now=2_000_000_000)
    assert when is not None and 29 <= when <= 31
