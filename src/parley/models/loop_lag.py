"""How late this process's event loop runs its callbacks: whether a timeout was the
upstream's slowness or our own.

A call's timers run on the same loop as everything else. When the loop is saturated (a
thousand deliberations arriving at once), a response that came in time can sit unread
while its timer fires, and the timeout would be blamed on the provider: its circuit
breaker opens, every later call fails at once, and the overload turns into an outage.
A timer ticks every C.LOOP_LAG_TICK_S; its lateness, the loop's lag, is kept for the
last C.LOOP_LAG_WINDOW_S, and a timeout while the lag passed C.LOOP_LAG_EXCUSE_S is not
counted against the provider.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

from parley import _constants as C


class LoopLag:
    """The lag of one loop; started on first use (`of`), ticking as long as the loop runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lags: deque[tuple[float, float]] = deque()  # (when, how late), worst kept
        self._due = loop.time() + C.LOOP_LAG_TICK_S
        loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self._loop.time()
        late = now - self._due
        lags = self._lags
        # Only what could still be the window's worst: a later, larger lag outranks the rest.
        while lags and lags[-1][1] <= late:
            lags.pop()
        lags.append((now, late))
        while lags[0][0] < now - C.LOOP_LAG_WINDOW_S:
            lags.popleft()
        self._due = now + C.LOOP_LAG_TICK_S
        self._loop.call_at(self._due, self._tick)

    def worst(self) -> float:
        """The longest the loop was late in the last C.LOOP_LAG_WINDOW_S seconds."""
        now = self._loop.time()
        late = max(0.0, now - self._due)  # a tick overdue right now counts too
        recent = [lag for when, lag in self._lags if when >= now - C.LOOP_LAG_WINDOW_S]
        return max([late, *recent])

    def overloaded(self) -> bool:
        """Whether the loop lagged enough of late that a timeout may be our own."""
        return self.worst() > C.LOOP_LAG_EXCUSE_S


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLag] = (
    weakref.WeakKeyDictionary()
)


def of_running_loop() -> LoopLag:
    """The running loop's lag monitor, started on first use."""
    loop = asyncio.get_running_loop()
    found = _BY_LOOP.get(loop)
    if found is None:
        found = _BY_LOOP[loop] = LoopLag(loop)
    return found
