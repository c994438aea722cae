"""Progress notifications from the engine's events: each step as it happens, and a
keep-alive every 10 s that starts only after the first 10 s (a progress message around a
fast reply has disconnected stdio servers in some hosts)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from parley.engine import Event
from parley.mcp.progress import Progress, Step

KEEPALIVE_S = 10.0

Send = Callable[[Step], Awaitable[None]]


class Reporter:
    """Hears events synchronously (the engine's listener) and sends steps in order from a
    task of its own, so a slow client never slows the panel."""

    def __init__(self, send: Send, progress: Progress, keepalive_s: float = KEEPALIVE_S) -> None:
        self.send = send
        self.progress = progress
        self.keepalive_s = keepalive_s
        self._last = -1.0
        self._queue: asyncio.Queue[Step | None] = asyncio.Queue()  # None: the run ended

    def __call__(self, event: Event) -> None:
        step = self.progress.feed(event)
        if step is not None:
            self._queue.put_nowait(step)

    async def _pump(self) -> None:
        while True:
            try:
                step = await asyncio.wait_for(self._queue.get(), self.keepalive_s)
            except TimeoutError:
                p = self.progress
                step = Step(p.done, p.total, f"still deliberating ({p.elapsed():.0f}s)")
            if step is None:
                return
            # The total as of sending: the whole panel is announced in one go, before
            # the first step can be sent, so every step says N+2.
            await self.send(Step(self._rising(step.done), self.progress.total, step.message))

    def _rising(self, done: float) -> float:
        """MCP wants every notification's progress above the last one's: a report that
        does not complete a step (a member started, a keep-alive) goes halfway from the
        last value to the next whole step, so the whole steps still read as counts."""
        value = float(done)
        if value <= self._last:
            value = self._last + (float(done) + 1 - self._last) / 2
        self._last = value
        return value

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Reporter]:
        """Send while the body runs; what is still queued is sent before it returns, so
        every step reaches the client before the result does."""
        task = asyncio.create_task(self._pump())
        try:
            yield self
        except BaseException:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
        self._queue.put_nowait(None)
        await task
