"""`parley eval`: run a task set through fusion and its baselines, score, and compare.

    from parley.eval import run
    report = run("tasks.jsonl", systems="fusion,solo,vote", out="eval-out")
    report["systems"]["fusion"]["accuracy"]

Records go to `out/records.jsonl` as each item finishes; running again resumes, and
`report(out)` re-scores them without asking any model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parley.client import Parley
from parley.config import Settings, load_settings
from parley.eval.builtin import load_task_set
from parley.eval.records import read_records, read_run, write_run
from parley.eval.report import build_report
from parley.eval.runner import Limits, Progress, plan_lines, run_items
from parley.eval.systems import Setup, System, default_systems, parse_systems
from parley.eval.tasks import Item, load_tasks
from parley.fusion.panel import panel_for
from parley.fusion.params import FusionParams
from parley.models.base import ChatModel

__all__ = ["Item", "Limits", "arun", "load_task_set", "load_tasks", "report", "run"]


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
    dry_run: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_plan: Callable[[str], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the task set and return the report (`run` for code that is not async).

    `tasks` is a JSONL file, a built-in set's name (`gsm8k`, `rg:basic_arithmetic?size=50`;
    `split` picks its split) or a list of items. `on_start(to_run, already_done)` hears how
    many (item, system) runs are ahead before the first starts; `on_record` hears each one."""
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
    result = report(out)
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


def report(out: str | Path, systems: list[str] | None = None) -> dict[str, Any]:
    """Re-score the records in `out` (no model is asked) and build the report."""
    out = Path(out)
    loaded = read_records(out)
    if systems is None:
        systems = read_run(out).get("systems") or list(
            dict.fromkeys(r["system"] for r in loaded.records)
        )
    return build_report(loaded, list(systems))
