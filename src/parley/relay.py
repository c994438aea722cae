"""Turn a callback-driven coroutine into an async iterator.

The runs (a deliberation, a chat request) report progress through a callback, which is
the cheap path when someone listens directly. An iterator face is built on it here, once:
the run goes in a task, what it emits goes through a queue, and closing the iterator
early cancels the run and everything it started.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


async def relay(
    work: Callable[[Callable[[T], None]], Coroutine[Any, Any, object]],
    *,
    idle_s: float | None = None,
    idle_item: T | None = None,
) -> AsyncGenerator[T, None]:
    """Run `work(emit)` and yield each item it emits, as it emits it; with `idle_s`, also
    `idle_item` whenever nothing was emitted for that long (a stream's heartbeat).

    The iterator ends when the work does, re-raising what the work raised; its return
    value is dropped (emit it if the caller needs it).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(work(queue.put_nowait))
    task.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        while True:
            # A timer rather than a timeout on the wait: no task per item. One that fires
            # just as an item lands adds a spare idle item, which is harmless.
            timer = (
                loop.call_later(idle_s, queue.put_nowait, idle_item)
                if idle_s is not None and queue.empty()
                else None
            )
            try:
                item = await queue.get()
            finally:
                # Also when the consumer is cancelled here: no stray heartbeat later.
                if timer is not None:
                    timer.cancel()
            if item is _END:
                break
            yield item
        task.result()  # re-raises what the work raised
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif not task.cancelled():
            task.exception()  # closed early after a failure: the error is not news
