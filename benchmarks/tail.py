"""A heavy-tailed panelist and what `deadline_s` and `quorum` do to a deliberation's tail.

A panel of 8 in-process models: seven answer after a log-normal latency (median 200 ms,
sigma 0.4), one after a Pareto-tailed latency (minimum 200 ms, alpha 1.1: most calls are
quick, a few take many seconds, as a congested provider's do). The judge answers in 50 ms.
The same seeded latencies are replayed under three settings, in one run:
waiting for every member, `deadline_s`, and `quorum: 6`; each prints p50 and p95 wall time
of a deliberation, and the last line is the p95 with a quorum over the p95 without.

    python benchmarks/tail.py
    # last line: p95_quorum_over_all=<x>   (below 1: the tail no longer waits on one member)
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Any

from parley import Parley, load_settings
from parley.models.base import Turn
from parley.testing import ANALYSIS_JSON, FakeRequest, FunctionModel

RUNS = 60
IN_FLIGHT = 20
PANEL = [f"bench/m{i}" for i in range(8)]
SEED = 7
DEADLINE_S = 1.0
QUORUM = 6


def latencies(seed: int) -> list[list[float]]:
    """Per run, per member, seconds: member 7 is the heavy-tailed one."""
    rng = random.Random(seed)
    runs = []
    for _ in range(RUNS):
        row = [rng.lognormvariate(-1.609, 0.4) for _ in PANEL[:-1]]
        row.append(min(30.0, 0.2 * rng.paretovariate(1.1)))
        runs.append(row)
    return runs


def member(index: int, table: list[list[float]]) -> FunctionModel:
    async def reply(req: FakeRequest) -> Turn:
        run = int(str(req.last_user).rsplit("#", 1)[1])
        await asyncio.sleep(table[run][index])  # the upstream's own latency, simulated
        return Turn(content=f"answer {index}", finish_reason="stop")

    return FunctionModel(reply)


async def judge(req: FakeRequest) -> str:
    await asyncio.sleep(0.05)
    return ANALYSIS_JSON


async def measure(params: dict[str, Any], table: list[list[float]]) -> list[float]:
    models: dict[str, Any] = {m: member(i, table) for i, m in enumerate(PANEL)}
    models["bench/judge"] = FunctionModel(judge)
    settings = load_settings({}, overrides={"judge": "bench/judge", "panel": PANEL})
    gate = asyncio.Semaphore(IN_FLIGHT)
    walls: list[float] = []
    async with Parley(settings=settings, models=models, search=None) as p:

        async def one(run: int) -> None:
            async with gate:
                t0 = time.perf_counter()
                d = await p.deliberate(f"Question #{run}", panel=PANEL, params=params)
                walls.append(time.perf_counter() - t0)
                assert d.result is not None and d.result.status == "ok"

        await asyncio.gather(*(one(i) for i in range(RUNS)))
    return walls


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1]


async def main() -> None:
    table = latencies(SEED)
    base = {"tools": []}
    figures = {}
    for name, params in [
        ("all", base),
        (f"deadline_s={DEADLINE_S:g}", {**base, "deadline_s": DEADLINE_S}),
        (f"quorum={QUORUM}", {**base, "quorum": QUORUM}),
    ]:
        walls = await measure(params, table)
        figures[name] = p95(walls)
        print(f"{name:14} p50={statistics.median(walls):.3f}s p95={figures[name]:.3f}s")
    print(f"p95_deadline_over_all={figures[f'deadline_s={DEADLINE_S:g}'] / figures['all']:.3f}")
    print(f"p95_quorum_over_all={figures[f'quorum={QUORUM}'] / figures['all']:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
