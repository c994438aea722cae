"""What Parley adds to a deliberation's wall time, over the upstream's own latencies.

A fake OpenRouter-compatible upstream (a child process, reached through
`OPENROUTER_BASE_URL`) answers each model after a fixed delay: panelists 40/60/80 ms,
judge 50 ms, outer model 70 ms. The critical path of one deliberation is
max(panel) + judge = 130 ms; of a whole `ask` it adds the outer model's two calls, 270 ms.
Each figure is the mean wall time of one run over that sum, with 1 run in flight and with
32 in flight sharing one `Parley` client (closed loop: each of 32 workers starts the next
run when its last one ends).

    python benchmarks/orchestration_overhead.py
    # last line: overhead_ratio_32=<x>, deliberation at 32 in flight (targets: <= 1.05 at 1,
    # <= 1.25 at 32)
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from _upstream import upstream_process  # benchmarks/ is on sys.path when run as a script
from parley import Parley, load_settings

PANEL = {"bench/panel-a": 0.040, "bench/panel-b": 0.060, "bench/panel-c": 0.080}
JUDGE = ("bench/judge", 0.050)
OUTER = ("bench/outer", 0.070)
DELIBERATION_PATH = max(PANEL.values()) + JUDGE[1]
ASK_PATH = OUTER[1] + DELIBERATION_PATH + OUTER[1]
QUESTION = "Is it cheaper to rent or to buy a home over twenty years?"
SERIAL_RUNS = 12
WIDE = 32
WIDE_WARMUP_S = 1.0
WIDE_S = 4.0

Run = Callable[[], Awaitable[None]]


async def serial(run: Run) -> list[float]:
    """Wall seconds of SERIAL_RUNS runs one after another, after two warm-up runs."""
    for _ in range(2):
        await run()
    times = []
    for _ in range(SERIAL_RUNS):
        t0 = time.perf_counter()
        await run()
        times.append(time.perf_counter() - t0)
    return times


async def wide(run: Run) -> tuple[list[float], float]:
    """Wall seconds of each run started after the warm-up, with WIDE workers in a closed loop;
    and the client's CPU seconds per run over the same window."""
    times: list[float] = []
    start = time.perf_counter()
    measure_from = start + WIDE_WARMUP_S
    stop_at = measure_from + WIDE_S
    cpu_at_measure: list[float] = []

    async def worker() -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            if t0 >= measure_from and not cpu_at_measure:
                cpu_at_measure.append(time.process_time())
            await run()
            if t0 >= measure_from:
                times.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(WIDE)))
    cpu = time.process_time() - cpu_at_measure[0]
    return times, cpu / max(1, len(times))


def report(label: str, times: list[float], path: float, cpu: float | None = None) -> float:
    mean = statistics.fmean(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    extra = f", client CPU {cpu * 1e3:5.2f} ms/run" if cpu is not None else ""
    print(
        f"{label:28s} mean {mean * 1e3:6.1f} ms, p95 {p95 * 1e3:6.1f} ms over "
        f"{path * 1e3:.0f} ms critical path: ratio {mean / path:.3f} (n={len(times)}{extra})"
    )
    return mean / path


async def _post(
    session: aiohttp.ClientSession, base_url: str, model: str, judge: bool = False
) -> None:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": QUESTION}]}
    if judge:
        body["response_format"] = {"type": "json_object"}
    async with session.post(base_url + "/chat/completions", json=body) as resp:
        await resp.json()


async def main() -> float:
    latencies = {**PANEL, JUDGE[0]: JUDGE[1], OUTER[0]: OUTER[1]}
    with tempfile.TemporaryDirectory() as tmp, upstream_process(latencies) as base_url:
        env = {
            "OPENROUTER_BASE_URL": base_url,
            "OPENROUTER_API_KEY": "sk-bench-not-a-key",
            "PARLEY_CONFIG": str(Path(tmp) / "config.toml"),  # absent: built-in defaults only
            "PARLEY_KEYS": str(Path(tmp) / "keys.json"),
        }
        async with Parley(settings=load_settings(env)) as p:

            async def deliberation() -> None:
                d = await p.deliberate(QUESTION, panel=list(PANEL), judge=JUDGE[0])
                r = d.result
                assert r is not None and r.status == "ok" and r.analysis is not None, r
                assert len(r.responses) == len(PANEL), r

            async def ask() -> None:
                out = await p.ask(QUESTION, model=OUTER[0], panel=list(PANEL), judge=JUDGE[0])
                (d,) = out.deliberations
                assert d.result is not None and d.result.analysis is not None, d.result
                assert out.text, out

            async def floor() -> None:
                # The same calls from a bare aiohttp session, no Parley: what loopback and
                # the fake's timers cost on their own.
                await asyncio.gather(*(_post(bare, base_url, m) for m in PANEL))
                await _post(bare, base_url, JUDGE[0], judge=True)

            ratios = {}
            async with aiohttp.ClientSession() as bare:
                report("bare aiohttp floor, 1", await serial(floor), DELIBERATION_PATH)
                times, cpu = await wide(floor)
                report(f"bare aiohttp floor, {WIDE}", times, DELIBERATION_PATH, cpu)
            ratios["d1"] = report(
                "deliberation, 1 in flight", await serial(deliberation), DELIBERATION_PATH
            )
            ratios["a1"] = report("ask, 1 in flight", await serial(ask), ASK_PATH)
            times, cpu = await wide(deliberation)
            ratios["d32"] = report(f"deliberation, {WIDE} in flight", times, DELIBERATION_PATH, cpu)
            times, cpu = await wide(ask)
            ratios["a32"] = report(f"ask, {WIDE} in flight", times, ASK_PATH, cpu)
    print(f"overhead_ratio_1={ratios['d1']:.3f}")
    print(f"ask_overhead_ratio_1={ratios['a1']:.3f}")
    print(f"ask_overhead_ratio_32={ratios['a32']:.3f}")
    print(f"overhead_ratio_32={ratios['d32']:.3f}")
    return ratios["d32"]


if __name__ == "__main__":
    asyncio.run(main())
