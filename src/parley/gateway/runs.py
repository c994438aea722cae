"""Where the gateway runs the engine: `engine.run` and `engine.stream` with this app's
metrics listening to the run's events, and a run that fails after its deliberations
finished logged all the same (one place, whichever API the request came in on)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable
from typing import Any

from parley import engine
from parley.engine import events as ev
from parley.gateway.log import keeping_unfinished
from parley.gateway.state import GatewayState


async def run(
    p: engine.Plan, state: GatewayState, emit: Callable[[Any], None] | None = None
) -> engine.Outcome:
    """`engine.run`, its events heard by the metrics and then by `emit`."""
    watch = state.metrics.watch()

    def hear(item: Any) -> None:
        watch(item)
        if emit is not None:
            emit(item)

    async with keeping_unfinished(state.log, p.request.messages):
        outcome = await engine.run(p, state.runtime, emit=hear)
    watch(ev.Completed(outcome))
    return outcome


async def stream(
    p: engine.Plan, state: GatewayState, *, panel_text: bool = False, **ids: str | None
) -> AsyncGenerator[ev.Event | ev.Idle, None]:
    """`engine.stream` at the state's heartbeat, each item heard by the metrics; a run
    that fails after deliberating is logged under `ids` (`entry_id`, `conversation_id`)."""
    watch = state.metrics.watch()
    items = engine.stream(p, state.runtime, panel_text=panel_text, idle_s=state.heartbeat_s)
    kept = keeping_unfinished(state.log, p.request.messages, **ids)
    async with kept, contextlib.aclosing(items):
        async for item in items:
            watch(item)
            yield item
