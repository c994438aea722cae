"""Deliberations started with `deliberation_start` and read with `deliberation_result`:
each under an unguessable id, owned by whoever started it (an API key's digest on HTTP),
kept after it finishes so its resource can be read."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from parley.mcp.output import DeliberationOutput
from parley.mcp.progress import Progress

KEEP_FINISHED = 100  # the newest finished runs kept for `deliberation_result` and resources


class UnknownDeliberation(LookupError):
    """No deliberation with this id that the caller may see (never says which)."""

    def __init__(self, deliberation_id: str) -> None:
        super().__init__(f"deliberation_id: no deliberation {deliberation_id!r}")


@dataclass
class Handle:
    owner: str
    progress: Progress
    task: asyncio.Task[DeliberationOutput] | None = None
    output: DeliberationOutput | None = None
    full: bool = False  # whether a result read returns every member's answer


class Handles:
    """Every deliberation this server knows, running or finished, by id."""

    def __init__(self) -> None:
        self._all: OrderedDict[str, Handle] = OrderedDict()

    def start(
        self,
        deliberation_id: str,
        owner: str,
        progress: Progress,
        run: Coroutine[Any, Any, DeliberationOutput],
        *,
        full: bool = False,
    ) -> Handle:
        h = Handle(owner, progress, full=full)
        h.task = asyncio.create_task(run)
        h.task.add_done_callback(lambda t: self._finished(h, t))
        self._all[deliberation_id] = h
        return h

    def finished(self, output: DeliberationOutput, owner: str) -> None:
        """Keep a synchronous run's result for its resource."""
        self._all[output.deliberation_id] = Handle(owner, Progress(), output=output)
        self._trim()

    def _finished(self, h: Handle, task: asyncio.Task[DeliberationOutput]) -> None:
        if not task.cancelled() and task.exception() is None:
            h.output = task.result()
        self._trim()

    def _trim(self) -> None:
        done = [k for k, h in self._all.items() if h.task is None or h.task.done()]
        for k in done[: max(0, len(done) - KEEP_FINISHED)]:
            del self._all[k]

    def get(self, deliberation_id: str, owner: str) -> Handle:
        h = self._all.get(deliberation_id)
        if h is None or h.owner != owner:
            raise UnknownDeliberation(deliberation_id)
        return h

    async def wait(self, deliberation_id: str, owner: str, wait_s: float) -> dict[str, Any]:
        """The result when it is ready within `wait_s`, else a progress snapshot."""
        h = self.get(deliberation_id, owner)
        if h.output is None and h.task is not None and not h.task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(h.task), wait_s)
        if h.task is not None and h.task.done() and h.output is None:
            if h.task.cancelled():
                return {"status": "cancelled", "deliberation_id": deliberation_id}
            exc = h.task.exception()
            return {"status": "failed", "deliberation_id": deliberation_id, "error": str(exc)}
        if h.output is not None:
            drop = None if h.full else {"responses"}
            return h.output.model_dump(mode="json", exclude_none=True, exclude=drop)
        return {"status": "running", "deliberation_id": deliberation_id, **h.progress.snapshot()}

    def cancel(self, deliberation_id: str, owner: str) -> bool:
        """Cancel a running deliberation; False when it had already finished."""
        h = self.get(deliberation_id, owner)
        if h.task is None or h.task.done():
            return False
        h.task.cancel()
        return True
