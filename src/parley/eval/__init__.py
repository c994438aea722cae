"""`parley eval`: run a task set through fusion and its baselines, score, and compare.

    from parley.eval import run
    report = run("tasks.jsonl", systems="fusion,solo,vote", out="eval-out")
    report["systems"]["fusion"]["accuracy"]

Records go to `out/records.jsonl` as each item finishes; running again resumes, and
`report(out)` re-scores them without asking any model but the grader of rubric items
(whose replies are kept in `out/grades.jsonl`, so it asks each once). `pairwise(out, a, b)`
compares two systems' answers with a grader model, in both orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parley.client import Parley
from parley.config import Settings, load_settings
from parley.eval.builtin import load_task_set
from parley.eval.grades import Grader, grade_rubric
from parley.eval.pairwise import PairwiseError, compare
from parley.eval.records import read_records, read_run, write_run
from parley.eval.report import build_report
from parley.eval.runner import Limits, Progress, plan_lines, run_items
from parley.eval.systems import Setup, System, default_systems, parse_systems
from parley.eval.tasks import Item, load_tasks
from parley.fusion.panel import panel_for
from parley.fusion.params import FusionParams
from parley.models.base import ChatModel

__all__ = [
    "Item",
    "Limits",
    "PairwiseError",
    "apairwise",
    "areport",
    "arun",
    "default_grader",
    "load_task_set",
    "load_tasks",
    "pairwise",
    "report",
    "run",
]


def resolve_setup(
    p: Parley,
    *,
    outer: str | None,
    panel: list[str] | None,
    judge: str | None,
    params: dict[str, Any] | None,
) -> Setup:
    """The outer model, panel and judge exactly as `parley ask` would use them."""
    settings = p.runtime.settings
    params = dict(params or {})
    fp = FusionParams.model_validate({**params, **({"analysis_models": panel} if panel else {})})
    members = panel_for(p.runtime, fp)
    outer = outer or settings.model or settings.outer_model_for()
    return Setup(outer, members, judge or settings.judge_for(members, outer=outer), params)


async def arun(
    tasks: str | Path | list[Item],
    *,
    out: str | Path,
    split: str | None = None,
    systems: str | list[str] | None = None,
    settings: Settings | None = None,
    models: Mapping[str, ChatModel] | None = None,
    outer: str | None = None,
    panel: list[str] | None = None,
    judge: str | None = None,
    params: dict[str, Any] | None = None,
    limits: Limits | None = None,
    grader: str | None = None,
    dry_run: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_plan: Callable[[str], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the task set and return the report (`run` for code that is not async).

    `tasks` is a JSONL file, a built-in set's name (`gsm8k`, `rg:basic_arithmetic?size=50`;
    `split` picks its split) or a list of items. `on_start(to_run, already_done)` hears how
    many (item, system) runs are ahead before the first starts; `on_record` hears each one.
    Rubric items are graded by `grader`, default the run's judge."""
    items = load_task_set(tasks, split) if not isinstance(tasks, list) else tasks
    out = Path(out)
    async with Parley(settings=settings or load_settings(), models=models) as p:
        setup = resolve_setup(p, outer=outer, panel=panel, judge=judge, params=params)
        chosen: list[System] = parse_systems(systems, setup) if systems else default_systems(setup)
        if dry_run:
            for line in plan_lines(items, chosen, setup, out):
                (on_plan or print)(line)
            return {"dry_run": True}
        write_run(
            out,
            {
                "systems": [s.name for s in chosen],
                "outer": setup.outer,
                "panel": setup.panel,
                "judge": setup.judge,
                "items": [i.id for i in items],
            },
        )
        progress = await run_items(
            p, items, chosen, setup, out, limits or Limits(), on_record, on_start
        )
        result = await areport(out, grader=grader or setup.judge or setup.outer, client=p)
    result["run"] = _summary(progress)
    return result


def _summary(progress: Progress) -> dict[str, Any]:
    return {
        "written": progress.written,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "spent": progress.spent,
        "stopped_by_cost": progress.stopped_by_cost,
    }


def run(tasks: str | Path | list[Item], **kwargs: Any) -> dict[str, Any]:
    """`arun()` for code that is not async."""
    return asyncio.run(arun(tasks, **kwargs))


def default_grader(out: str | Path) -> str | None:
    """The grader a report uses when none is named: the run's judge, else its outer model."""
    meta = read_run(Path(out))
    return meta.get("judge") or meta.get("outer")


async def areport(
    out: str | Path,
    systems: list[str] | None = None,
    *,
    grader: str | None = None,
    regrade: bool = False,
    client: Parley | None = None,
    settings: Settings | Callable[[], Settings] | None = None,
    models: Mapping[str, ChatModel] | None = None,
) -> dict[str, Any]:
    """Re-score the records in `out` and build the report. Only rubric items ask a model:
    `grader` (None: only grades already kept count, the rest are reported ungraded), once
    per answer unless `regrade`; `client` (or `settings`/`models`) is how it is reached,
    `settings` perhaps a function, called only when a model is asked."""
    out = Path(out)
    loaded = read_records(out)
    if systems is None:
        systems = read_run(out).get("systems") or list(
            dict.fromkeys(r["system"] for r in loaded.records)
        )
    grades, problems = {}, []
    if grader:
        g = Grader(grader, out, client=client, settings=settings, models=models, regrade=regrade)
        try:
            grades = await grade_rubric(loaded, list(systems), g)
        finally:
            await g.aclose()
        problems = g.problems
    result = build_report(loaded, list(systems), grades)
    result["problems"] += problems
    return result


def report(out: str | Path, systems: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """`areport()` for code that is not async."""
    return asyncio.run(areport(out, systems, **kwargs))


async def apairwise(
    out: str | Path,
    a: str,
    b: str,
    *,
    grader: str,
    regrade: bool = False,
    client: Parley | None = None,
    settings: Settings | Callable[[], Settings] | None = None,
    models: Mapping[str, ChatModel] | None = None,
) -> dict[str, Any]:
    """Compare systems `a` and `b` on the items both answered in `out`, graded by `grader`
    in both orders (PairwiseError when either has no answered records)."""
    out = Path(out)
    g = Grader(grader, out, client=client, settings=settings, models=models, regrade=regrade)
    try:
        return await compare(read_records(out), a, b, g)
    finally:
        await g.aclose()


def pairwise(out: str | Path, a: str, b: str, **kwargs: Any) -> dict[str, Any]:
    """`apairwise()` for code that is not async."""
    return asyncio.run(apairwise(out, a, b, **kwargs))
