"""The disconnect guard: a client leaving cancels the work, and only the work."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from parley.gateway.asgi import ClientGone, until_disconnect


async def test_a_client_leaving_as_the_work_finishes_does_not_cancel_the_response() -> None:
    """The watcher's completion and the work's end land in the same loop iteration: the
    watcher's callback is already queued when the work returns, and must then do nothing
    (it used to cancel the task while it sent the response)."""
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()
    done: asyncio.Future[None] = loop.create_future()

    async def receive() -> dict[str, Any]:
        await gone
        return {"type": "http.disconnect"}

    async def work() -> str:
        await done
        return "answer"

    def both() -> None:
        gone.set_result(None)
        done.set_result(None)

    loop.call_soon(both)
    assert await until_disconnect(work(), receive) == "answer"
    for _ in range(3):
        await asyncio.sleep(0)  # sending the response: the task must not be cancelled


async def test_a_client_leaving_mid_work_cancels_it() -> None:
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()
    cancelled = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await gone
        return {"type": "http.disconnect"}

    async def work() -> None:
        gone.set_result(None)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(ClientGone):
        await until_disconnect(work(), receive)
    assert cancelled.is_set()
