"""MCP progress from the event stream: a count that only goes up, out of N+2; every step
sent in order before the run returns; a keep-alive only when nothing happened for a
whole interval."""

from __future__ import annotations

import asyncio

from parley.fusion import events as ev
from parley.mcp.notify import Reporter
from parley.mcp.progress import Progress, Step

RUN: list[ev.FusionEvent] = [
    ev.PanelAdded("a", 0),
    ev.PanelAdded("b", 1),
    ev.PanelCompleted("a", 0, "A", 1.0),
    ev.PanelFailed("b", 1, "overloaded", 400, 1.0),
    ev.AnalysisInProgress("judge"),
    ev.AnalysisCompleted(None, None),
]


def test_the_count_only_goes_up_to_n_plus_two() -> None:
    p = Progress()
    steps = [p.feed(e) for e in RUN]
    assert [s.done for s in steps if s] == [0, 0, 1, 2, 3, 4]
    assert p.total == 4 and p.snapshot()["analysis"] == "finished"
    assert steps[3] is not None and "overloaded" in steps[3].message
    assert p.feed(ev.PanelDelta("a", 0, "text")) is None  # text is not progress


async def test_every_step_is_sent_in_order_and_none_idle_when_busy() -> None:
    sent: list[Step] = []

    async def send(step: Step) -> None:
        sent.append(step)

    reporter = Reporter(send, Progress(), keepalive_s=3600)
    async with reporter.running():
        for e in RUN:
            reporter(e)
    # Strictly rising, as MCP requires; the second member's start goes halfway to 1.
    assert [s.done for s in sent] == [0, 0.5, 1, 2, 3, 4]
    assert {s.total for s in sent} == {4}
    assert not any("still" in s.message for s in sent)


async def test_an_idle_run_gets_keep_alives() -> None:
    kept_alive = asyncio.Event()

    async def send(step: Step) -> None:
        if step.message.startswith("still deliberating"):
            kept_alive.set()

    reporter = Reporter(send, Progress(), keepalive_s=0.01)
    async with reporter.running():
        reporter(ev.PanelAdded("a", 0))
        await kept_alive.wait()  # released by the keep-alive itself
