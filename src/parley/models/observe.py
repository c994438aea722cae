"""Who hears about upstream calls: each HTTP attempt's outcome and each retry.

The adapter reports to whichever observer the current context holds (a contextvar), so
the gateway's per-app metrics see the calls their own requests caused, panel members'
tasks included (tasks copy the context they are started from), and two apps in one
process never count each other's calls. Outside any `observing` block nobody listens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol


class UpstreamObserver(Protocol):
    """What an upstream model call reports; `status` is None when no HTTP status came
    back (a connection error, a timeout)."""

    def upstream_call(self, provider: str, model: str, status: int | None) -> None: ...

    def upstream_retry(self, provider: str, model: str) -> None: ...


class _Nobody:
    def upstream_call(self, provider: str, model: str, status: int | None) -> None:
        return None

    def upstream_retry(self, provider: str, model: str) -> None:
        return None


NOBODY: UpstreamObserver = _Nobody()
_current: ContextVar[UpstreamObserver] = ContextVar("parley_upstream_observer", default=NOBODY)


def current() -> UpstreamObserver:
    """The observer of the calls made from here."""
    return _current.get()


@contextlib.contextmanager
def observing(observer: UpstreamObserver) -> Iterator[None]:
    """Calls made inside this block (and tasks started from it) report to `observer`."""
    token = _current.set(observer)
    try:
        yield
    finally:
        _current.reset(token)
