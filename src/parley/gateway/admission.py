"""Admission: what the gateway takes on, and how it stops.

Fusion multiplies every request by the panel size, so work past what the upstreams can
take is refused at once (429 with `Retry-After`) instead of queueing silently behind the
connection pool, and a question too large to send to every panelist is a 413 before any
upstream call. While draining (the server was told to stop) new work is a 503 with
`Retry-After`, and running requests get up to the grace period to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from parley import _constants as C
from parley.gateway.errors import HTTPError


class Admission:
    """Counts requests at work (`active`) and deliberations among them (`in_flight`)."""

    def __init__(self, max_in_flight: int, max_question: int) -> None:
        self.max_in_flight = max_in_flight
        self.max_question = max_question
        self.active = 0
        self.in_flight = 0
        self.draining = False
        # Called when draining starts: the probe port's process says `draining` at once
        # rather than at its next snapshot (load balancers stop sending work sooner).
        self.on_draining: Callable[[], None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """One request at work, from before its body is read to its last byte sent."""
        if self.draining:
            raise HTTPError(
                503,
                "the server is shutting down; retry on another instance or shortly",
                "draining",
                retry_after=C.GATEWAY_RETRY_AFTER_S,
            )
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            if not self.active:
                self._idle.set()

    @contextlib.contextmanager
    def deliberation(self, size: int) -> Iterator[None]:
        """A request with server tools, `size` bytes of which go to each panelist."""
        if size > self.max_question:
            raise HTTPError(
                413,
                f"the request is {size} bytes; a request sent to a panel may be at most "
                f"{self.max_question} bytes (setting `gateway.max_question`, "
                "PARLEY_MAX_QUESTION_BYTES)",
                "question_too_large",
                "messages",
            )
        if self.in_flight >= self.max_in_flight:
            raise HTTPError(
                429,
                f"the server is running {self.in_flight} deliberations, its limit "
                "(setting `gateway.max_in_flight`, PARLEY_MAX_IN_FLIGHT); retry shortly",
                "too_many_in_flight",
                retry_after=C.GATEWAY_RETRY_AFTER_S,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def begin_draining(self) -> None:
        """Refuse new work from now on (and say so on the probe port)."""
        if self.draining:
            return
        self.draining = True
        if self.on_draining is not None:
            self.on_draining()

    async def drain(self, grace_s: float) -> bool:
        """Refuse new work and wait up to `grace_s` for running requests; True when all
        finished in time."""
        self.begin_draining()
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            return False
        return True


@contextlib.contextmanager
def draining_on_signal(admission: Admission) -> Iterator[None]:
    """While the block runs, SIGTERM or SIGINT starts draining at once, then reaches the
    server's own handler. uvicorn stops accepting at the signal but runs the app's
    shutdown only once its open connections have closed; a load balancer polling /ready
    (on the probe port, which stays up) must hear `draining` from the signal on, not after
    the running work is done. Only a server that handles the signal itself is hooked:
    hooking the default action would turn a kill into nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers belong to the main thread: a server run in a thread (tests)
        return
    loop = asyncio.get_running_loop()
    before: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(admission.begin_draining)  # on the loop, not mid-write
        handler = before[sig]
        if callable(handler):
            handler(sig, frame)

    hooked = [sig for sig, h in before.items() if callable(h)]
    for sig in hooked:
        signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig in hooked:
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, before[sig])
