"""The relay and the disconnect guard clean up after themselves: the work they started is
cancelled and awaited however the consumer stops, an error surfaces once, and nothing is
left behind for the event loop to complain about."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from parley.gateway.asgi import until_disconnect
from parley.relay import relay


@contextlib.contextmanager
def loop_complaints() -> Iterator[list[dict[str, Any]]]:
    """What the loop reports to its exception handler (e.g. "Task exception was never
    retrieved"), collected after a garbage collection."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx))
    try:
        yield seen
        gc.collect()
    finally:
        loop.set_exception_handler(previous)


async def queued_callbacks_run() -> None:
    """Every callback already queued on the loop (a finished task's done-callbacks) runs:
    the loop runs its queue in order, and this wake-up is queued behind them."""
    loop = asyncio.get_running_loop()
    behind: asyncio.Future[None] = loop.create_future()
    loop.call_soon(behind.set_result, None)
    await behind


def quiet_work(
    started: asyncio.Event, cleaned: asyncio.Event
) -> Callable[[Callable[[str], None]], Any]:
    async def work(emit: Callable[[str], None]) -> None:
        emit("first")
        started.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # cleanup that itself awaits: only an awaited task ends it
            cleaned.set()
            raise

    return work


async def cancel_once_started(items: AsyncIterator[Any], started: asyncio.Event) -> None:
    """Consume `items` in a task of its own, and cancel that task once the work has started."""

    async def consume() -> None:
        async for _ in items:
            pass

    consumer = asyncio.create_task(consume())
    await started.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer


async def test_a_consumer_that_raises_gets_its_own_error_after_the_work_is_cleaned_up() -> None:
    started, cleaned = asyncio.Event(), asyncio.Event()
    items = relay(quiet_work(started, cleaned))
    with loop_complaints() as complaints, pytest.raises(KeyError):
        async with contextlib.aclosing(items):
            async for _ in items:
                await started.wait()
                raise KeyError("consumer")
    assert cleaned.is_set()
    assert complaints == []


async def test_cancelling_the_consumer_cancels_and_awaits_the_work() -> None:
    started, cleaned = asyncio.Event(), asyncio.Event()

    with loop_complaints() as complaints:
        await cancel_once_started(relay(quiet_work(started, cleaned), idle_s=3600.0), started)
    assert cleaned.is_set()
    assert complaints == []


async def test_the_idle_timer_does_not_outlive_a_cancelled_consumer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    timers: list[asyncio.TimerHandle] = []
    call_later = loop.call_later

    def recording(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        handle = call_later(delay, callback, *args)
        timers.append(handle)
        return handle

    monkeypatch.setattr(loop, "call_later", recording)
    started, cleaned = asyncio.Event(), asyncio.Event()

    items = relay(quiet_work(started, cleaned), idle_s=3600.0, idle_item="idle")
    await cancel_once_started(items, started)
    assert timers, "the relay waited with a heartbeat timer"
    assert all(t.cancelled() for t in timers)


async def test_a_work_failing_while_it_is_cancelled_does_not_leak_its_error() -> None:
    started = asyncio.Event()

    async def work(emit: Callable[[str], None]) -> None:
        emit("first")
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("broke while stopping") from None

    with loop_complaints() as complaints:
        items = relay(work)
        assert await anext(items) == "first"
        await started.wait()
        await items.aclose()  # the consumer is done; the work's late failure is not news
        del items
    assert complaints == []


async def test_an_error_of_the_work_reaches_the_consumer_once() -> None:
    async def work(emit: Callable[[str], None]) -> None:
        emit("a")
        raise ValueError("broken")

    with loop_complaints() as complaints, pytest.raises(ValueError, match="broken"):
        async for _ in relay(work, idle_s=3600.0, idle_item="idle"):
            pass
    assert complaints == []


async def test_a_receive_failing_as_the_work_finishes_is_not_left_unretrieved() -> None:
    """The watcher fails (a broken receive) in the same loop iteration as the work ends,
    so its callback returns before looking at the error: the error is moot, and the loop
    must not log "Task exception was never retrieved" when the watcher is collected."""
    loop = asyncio.get_running_loop()
    broken: asyncio.Future[None] = loop.create_future()
    done: asyncio.Future[None] = loop.create_future()

    async def receive() -> dict[str, Any]:
        await broken
        return {"type": "http.disconnect"}

    async def work() -> str:
        await done
        return "answer"

    def both() -> None:
        broken.set_exception(OSError("connection reset"))
        done.set_result(None)

    with loop_complaints() as complaints:
        loop.call_soon(both)
        assert await until_disconnect(work(), receive) == "answer"
        await queued_callbacks_run()  # the watcher's callback runs and lets go of it
    assert complaints == []
