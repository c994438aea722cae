"""`parley.eval.run` on scripted fake models whose answers give known results: each
system's accuracy, the vote, the paired McNemar comparison, the "any member right"
ceiling, resume, re-scoring from the records, failed items and `--max-cost`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from parley import eval as parley_eval
from parley.config import load_settings
from parley.eval.records import RECORDS
from parley.testing import ANALYSIS_JSON, FunctionModel, tool_call
from parley.testing.models import FakeRequest

GOLD = {"q1": "A", "q2": "B", "q3": "C", "q4": "D"}
# What each panelist answers: the vote is right on q1 and q2 only (q4 is a three-way tie,
# the first answer wins), and some member is right on q1, q2 and q3.
PANEL = {
    "vendor/a": {"q1": "A", "q2": "C", "q3": "C", "q4": "A"},
    "vendor/b": {"q1": "The answer is (A)", "q2": "**B**", "q3": "D", "q4": "B"},
    "vendor/c": {"q1": "B", "q2": "B", "q3": "D", "q4": "C"},
}
OUTER = {"q1": "A", "q2": "B", "q3": "C", "q4": "A"}  # fusion: 3 of 4
COST = 0.01  # per call; one deliberation is 6 calls (3 panelists, judge, 2 outer turns)


def outer(req: FakeRequest) -> Any:
    if "fusion" in req.tools and not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    return f"The answer is ({OUTER[req.last_user]})."


def fake_models() -> dict[str, FunctionModel]:
    models = {
        m: FunctionModel(lambda req, t=table: t[req.last_user], name=m, cost_per_call=COST)
        for m, table in PANEL.items()
    }
    models["vendor/judge"] = FunctionModel(lambda req: ANALYSIS_JSON, cost_per_call=COST)
    models["vendor/outer"] = FunctionModel(outer, cost_per_call=COST)
    return models


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": q, "question": q, "answer": a, "scorer": "choice"}) + "\n"
            for q, a in GOLD.items()
        )
    )
    return path


def run(tasks: Path, out: Path, models: dict[str, FunctionModel], **kw: Any) -> dict[str, Any]:
    settings = load_settings(
        overrides={
            "panel": list(PANEL),
            "judge": "vendor/judge",
            "model": "vendor/outer",
            "web": {"search": "off"},
        }
    )
    return parley_eval.run(tasks, out=out, settings=settings, models=models, **kw)


def test_each_system_scores_as_scripted(tasks: Path, tmp_path: Path) -> None:
    report = run(tasks, tmp_path / "out", fake_models(), systems="fusion,solo:vendor/a,vote")
    rows = report["systems"]
    assert report["order"] == ["fusion", "solo:vendor/a", "vote"]
    assert (rows["fusion"]["correct"], rows["fusion"]["n"]) == (3, 4)
    assert rows["fusion"]["accuracy"] == 0.75
    assert rows["solo:vendor/a"]["correct"] == 2 and rows["vote"]["correct"] == 2
    solo = rows["solo:vendor/a"]["vs_fusion"]
    assert (solo["fixed"], solo["broke"], solo["paired_n"]) == (1, 0, 4)
    assert solo["p_value"] == 1.0 and solo["fusion_minus_this"] == 0.25
    assert rows["fusion"]["ceiling"] == {"any_member_right": 3, "n": 4, "fusion_captured": 3}
    assert rows["fusion"]["cost"] == pytest.approx(4 * 6 * COST)
    assert rows["vote"]["cost"] == 0.0  # the vote asks nothing of its own
    item = rows["fusion"]["items"][3]
    assert item == {"id": "q4", "correct": False, "extracted": "A", "raw": "The answer is (A)."}
    assert {"panel", "judge", "outer", "total"} <= set(rows["fusion"]["latency"])


def test_mcnemar_counts_items_fixed_and_broke(tasks: Path, tmp_path: Path) -> None:
    report = run(tasks, tmp_path / "out", fake_models(), systems="fusion,solo:vendor/c")
    vs = report["systems"]["solo:vendor/c"]["vs_fusion"]
    # vendor/c is right on q2 only; fusion on q1, q2, q3: 2 fixed, 0 broke.
    assert (vs["fixed"], vs["broke"]) == (2, 0) and vs["p_value"] == 0.5


def test_rerun_resumes_and_report_rescores_without_models(tasks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    models = fake_models()
    first = run(tasks, out, models, systems="fusion,vote")
    calls = len(models["vendor/outer"].requests)
    again = run(tasks, out, models, systems="fusion,vote")
    assert len(models["vendor/outer"].requests) == calls  # nothing asked twice
    assert again["run"]["written"] == 0 and again["run"]["skipped"] == 4
    rescored = parley_eval.report(out)
    assert rescored["systems"] == first["systems"] == again["systems"]


def test_a_corrupt_trailing_line_is_reported_and_skipped(tasks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(tasks, out, fake_models(), systems="solo:vendor/a")
    with (out / RECORDS).open("a") as f:
        f.write('{"item": "q9", "sys')  # a write cut short by a kill
    report = parley_eval.report(out)
    assert report["systems"]["solo:vendor/a"]["n"] == 4
    assert any("records.jsonl:5" in p for p in report["problems"])
    # A later run starts its records on a fresh line, so they stay readable.
    later = run(tasks, out, fake_models(), systems="solo:vendor/a,solo:vendor/b")
    assert later["systems"]["solo:vendor/b"]["n"] == 4


def test_failed_items_are_recorded_not_counted_wrong(tasks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def flaky(req: FakeRequest) -> str:
        if req.last_user == "q2":
            raise RuntimeError("upstream fell over")
        return PANEL["vendor/a"][req.last_user]

    models = fake_models()
    models["vendor/a"] = FunctionModel(flaky)
    row = run(tasks, out, models, systems="solo:vendor/a")["systems"]["solo:vendor/a"]
    assert (row["n"], row["correct"], row["failed"]) == (3, 2, 1)
    # A plain rerun keeps the failure; --retry-failed asks again.
    assert run(tasks, out, models, systems="solo:vendor/a")["run"]["written"] == 0
    retried = run(
        tasks,
        out,
        fake_models(),
        systems="solo:vendor/a",
        limits=parley_eval.Limits(retry_failed=True),
    )
    assert retried["run"]["written"] == 1
    assert retried["systems"]["solo:vendor/a"]["failed"] == 0


def test_max_cost_stops_admitting_before_the_cap(tasks: Path, tmp_path: Path) -> None:
    limits = parley_eval.Limits(concurrency=1, max_cost=0.13)
    report = run(tasks, tmp_path / "out", fake_models(), systems="fusion", limits=limits)
    # Each item costs 0.06: a third would reach 0.18, past the cap.
    assert report["run"]["stopped_by_cost"] and report["run"]["written"] == 2
    assert report["systems"]["fusion"]["cost"] == pytest.approx(0.12)


def test_self_consistency_and_self_moa_match_fusion_calls(tasks: Path, tmp_path: Path) -> None:
    models = fake_models()
    report = run(
        tasks,
        tmp_path / "out",
        models,
        systems="self-consistency:vendor/a,self-moa:vendor/outer",
    )
    sc = report["systems"]["self-consistency:vendor/a"]
    assert sc["correct"] == 2 and len(models["vendor/a"].requests) == 4 * 6
    assert report["systems"]["self-moa:vendor/outer"]["n"] == 4


def test_dry_run_prints_calls_and_asks_nothing(tasks: Path, tmp_path: Path) -> None:
    models = fake_models()
    lines: list[str] = []
    run(
        tasks,
        tmp_path / "out",
        models,
        systems="fusion,solo:vendor/a,vote",
        dry_run=True,
        on_plan=lines.append,
    )
    assert lines[0].startswith("fusion: 4 items, 24 calls")
    assert lines[1].startswith("solo:vendor/a: 4 items, 4 calls")
    assert lines[-1].startswith("total: 28 calls")
    assert not models["vendor/outer"].requests


def test_unknown_system_is_refused(tasks: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown system 'best'"):
        run(tasks, tmp_path / "out", fake_models(), systems="fusion,best")


def test_rubric_items_are_left_unscored_not_counted_wrong(tmp_path: Path) -> None:
    tasks = tmp_path / "rubric.jsonl"
    tasks.write_text(
        '{"id": "q1", "question": "q1", "answer": "A", "scorer": "choice"}\n'
        '{"id": "q2", "question": "q2", "answer": "clear and kind", "scorer": "rubric"}\n'
    )
    row = run(tasks, tmp_path / "out", fake_models(), systems="solo:vendor/a")["systems"]
    assert (row["solo:vendor/a"]["n"], row["solo:vendor/a"]["unscored"]) == (1, 1)
    assert row["solo:vendor/a"]["accuracy"] == 1.0


class Counting(FunctionModel):
    """Counts how many of its calls are in flight at once, yielding mid-call so that
    others could overlap it if the runner let them."""

    def __init__(self, fn: Any) -> None:
        super().__init__(fn)
        self.active = self.most = 0

    async def _reply(self, *args: Any, **kwargs: Any) -> Any:
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            for _ in range(20):
                await asyncio.sleep(0)  # a turn of the loop, not a wait for time
            return await super()._reply(*args, **kwargs)
        finally:
            self.active -= 1


def test_per_model_limit_holds_under_wider_concurrency(tasks: Path, tmp_path: Path) -> None:
    models = fake_models()
    counting = Counting(lambda req: PANEL["vendor/a"][req.last_user])
    models["vendor/a"] = counting
    limits = parley_eval.Limits(concurrency=4, per_model=1)
    report = run(tasks, tmp_path / "out", models, systems="solo:vendor/a", limits=limits)
    assert report["systems"]["solo:vendor/a"]["n"] == 4 and counting.most == 1


def test_a_failed_deliberation_is_a_failed_item(tasks: Path, tmp_path: Path) -> None:
    models = fake_models()
    for member in PANEL:
        models[member] = FunctionModel(lambda req: (_ for _ in ()).throw(RuntimeError("down")))
    report = run(tasks, tmp_path / "out", models, systems="fusion,vote")
    fusion = report["systems"]["fusion"]
    assert (fusion["n"], fusion["failed"]) == (0, 4)
    assert report["systems"]["vote"]["n"] == 0
