"""Runs items through systems: concurrently, within a per-model limit and a cost cap,
one record per finished (or failed) item, skipping what an earlier run already did."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.client import Parley
from parley.eval.records import Loaded, RecordWriter, read_records
from parley.eval.systems import Setup, System, call
from parley.eval.tasks import Item


@dataclass
class Limits:
    concurrency: int = 4
    per_model: int = 2  # a local model serves one or two requests well, not eight
    max_cost: float | None = None
    retry_failed: bool = False


@dataclass
class Progress:
    """What the run did; `stopped_by_cost` when `max_cost` stopped admitting items."""

    written: int = 0
    failed: int = 0
    skipped: int = 0
    spent: float = 0.0
    stopped_by_cost: bool = False
    problems: list[str] = field(default_factory=list)


def runnable(systems: list[System]) -> list[System]:
    """The systems that ask models: `vote` reads fusion's records, so it brings fusion."""
    asked = [s for s in systems if s.kind != "vote"]
    if any(s.kind == "vote" for s in systems) and not any(s.kind == "fusion" for s in asked):
        asked.insert(0, System("fusion", "fusion"))
    return asked


def pending(
    items: list[Item], systems: list[System], loaded: Loaded, retry_failed: bool
) -> tuple[list[tuple[Item, System]], int]:
    """The (item, system) pairs still to run, and how many were skipped as done."""
    latest = loaded.latest()
    todo: list[tuple[Item, System]] = []
    for item in items:
        for system in runnable(systems):
            done = latest.get((item.id, system.name))
            if done is not None and (done.get("status") == "ok" or not retry_failed):
                continue
            todo.append((item, system))
    return todo, len(items) * len(runnable(systems)) - len(todo)


class CostGate:
    """Admits an item only when the spent cost, the in-flight items' estimates and this
    item's estimate stay within the cap. A system's estimate is the mean cost of its
    finished records; until one has finished, its items run one at a time."""

    def __init__(self, cap: float | None, loaded: Loaded) -> None:
        self.cap = cap
        self.spent = 0.0
        self._costs: dict[str, list[float]] = {}
        for r in loaded.records:
            if r.get("status") == "ok" and isinstance(r.get("cost"), (int, float)):
                self._costs.setdefault(r["system"], []).append(float(r["cost"]))
        self.in_flight: dict[int, float | None] = {}

    def estimate(self, system: str) -> float | None:
        costs = self._costs.get(system)
        return sum(costs) / len(costs) if costs else None

    def verdict(self, system: str) -> str:
        """ "go", "wait" (an estimate is still unknown) or "stop"."""
        if self.cap is None:
            return "go"
        est = self.estimate(system)
        if est is None or any(e is None for e in self.in_flight.values()):
            return "go" if not self.in_flight else "wait"
        committed = self.spent + sum(e or 0.0 for e in self.in_flight.values())
        return "stop" if committed + est > self.cap else "go"

    def finished(self, system: str, cost: float | None) -> None:
        if cost is not None:
            self.spent += cost
            self._costs.setdefault(system, []).append(cost)


@contextlib.asynccontextmanager
async def _held(locks: list[asyncio.Semaphore]) -> Any:
    # Acquired in one global order (sorted model ids) so two items never deadlock.
    async with contextlib.AsyncExitStack() as stack:
        for lock in locks:
            await stack.enter_async_context(lock)
        yield


def _failed_record(item: Item, system: System, exc: BaseException) -> dict[str, Any]:
    return {
        "item": item.id,
        "system": system.name,
        "status": "failed",
        "gold": item.gold(),
        "error": f"{type(exc).__name__}: {exc}",
    }


async def run_items(
    p: Parley,
    items: list[Item],
    systems: list[System],
    setup: Setup,
    out: Path,
    limits: Limits,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> Progress:
    """Run every pending (item, system) pair and append its record to `out`."""
    loaded = read_records(out)
    progress = Progress(problems=list(loaded.problems))
    todo, progress.skipped = pending(items, systems, loaded, limits.retry_failed)
    if on_start is not None:
        on_start(len(todo), progress.skipped)
    gate = CostGate(limits.max_cost, loaded)
    per_model: dict[str, asyncio.Semaphore] = {}
    slots = asyncio.Semaphore(max(1, limits.concurrency))
    writer = RecordWriter(out)
    tasks: set[asyncio.Task[None]] = set()

    async def one(key: int, item: Item, system: System) -> None:
        try:
            locks = [
                per_model.setdefault(m, asyncio.Semaphore(max(1, limits.per_model)))
                for m in system.models(setup)
            ]
            async with _held(locks):
                try:
                    got = await call(p, system, item, setup)
                    record = {
                        "item": item.id,
                        "system": system.name,
                        "status": "ok",
                        "gold": item.gold(),
                        **got,
                    }
                except Exception as exc:  # any failure is a failed item, never a wrong one
                    record = _failed_record(item, system, exc)
            writer.write(record)
            progress.written += 1
            progress.failed += record["status"] == "failed"
            gate.finished(system.name, record.get("cost"))
            if on_record is not None:
                on_record(record)
        finally:
            gate.in_flight.pop(key, None)
            slots.release()

    try:
        for key, (item, system) in enumerate(todo):
            await slots.acquire()
            while (verdict := gate.verdict(system.name)) == "wait":
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if verdict == "stop":
                slots.release()
                progress.stopped_by_cost = True
                break
            gate.in_flight[key] = gate.estimate(system.name)
            task = asyncio.create_task(one(key, item, system))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        writer.close()
    progress.spent = gate.spent
    return progress


def plan_lines(items: list[Item], systems: list[System], setup: Setup, out: Path) -> Iterator[str]:
    """What `--dry-run` prints: the calls each system would make and a cost estimate from
    earlier records of the same systems, when there are any."""
    loaded = read_records(out)
    todo, skipped = pending(items, systems, loaded, retry_failed=False)
    gate = CostGate(None, loaded)
    total_calls, total_cost, unknown = 0, 0.0, False
    for system in runnable(systems):
        n = sum(1 for _, s in todo if s.name == system.name)
        calls = n * system.calls(setup)
        est = gate.estimate(system.name)
        total_calls += calls
        unknown = unknown or (est is None and n > 0)
        total_cost += (est or 0.0) * n
        known = est is not None or not n
        cost = f"${(est or 0.0) * n:.4f}" if known else "cost unknown (no records yet)"
        yield f"{system.name}: {n} items, {calls} calls, {cost}"
    yield f"total: {total_calls} calls, {'at least ' if unknown else ''}${total_cost:.4f}" + (
        f" ({skipped} already done)" if skipped else ""
    )
