"""`parley eval TASKS` and `parley eval report DIR` as a user runs them, aimed at a fake
OpenRouter through OPENROUTER_BASE_URL, with the same panel flags and environment as
`parley ask`."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from cli_kit import cli_env, run_parley, spawn_parley
from eval_kit import eval_upstream, scripted
from parley.models.base import Delta
from parley.testing import FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

GOLD = {"How many legs has a spider?": "8", "What is 6 times 7?": "42"}
SAYS = {
    "vendor/a": {"How many legs has a spider?": "8 legs", "What is 6 times 7?": "#### 41"},
    "vendor/b": {"How many legs has a spider?": "six", "What is 6 times 7?": "6*7 = 42"},
}


def tasks_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "question": q, "answer": a, "scorer": "number"}) + "\n"
            for i, (q, a) in enumerate(GOLD.items())
        )
    )
    return path


def test_eval_runs_reports_and_rescores_from_the_records(tmp_path: Path) -> None:
    tasks, out = tasks_file(tmp_path), tmp_path / "out"
    with ThreadedUpstream(eval_upstream(scripted(SAYS), GOLD.__getitem__)) as up:
        env = cli_env(up.base_url)
        proc = run_parley(env, "eval", str(tasks), "--out", str(out), "--json", "--no-tools")
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["order"] == ["fusion", "solo:vendor/a", "solo:vendor/b", "vote"]
        rows = report["systems"]
        assert [rows[s]["correct"] for s in report["order"]] == [2, 1, 1, 1]
        assert rows["fusion"]["accuracy"] == 1.0 and rows["fusion"]["n"] == 2
        assert rows["solo:vendor/a"]["vs_fusion"]["fixed"] == 1
        table = run_parley(env, "eval", "report", str(out))
        again = run_parley(env, "eval", "report", str(out), "--json")
    assert table.returncode == 0, table.stderr
    fusion_row = next(line.split() for line in table.stdout.splitlines() if " fusion " in line)
    assert fusion_row[:4] == ["fusion", "100", "34-100", "2"]  # acc%, its interval, n
    assert "solo:vendor/b" in table.stdout and "any member right: 2/2" in table.stdout
    assert json.loads(again.stdout)["systems"] == rows


def test_a_set_of_open_answers_says_the_vote_cannot_score_it(tmp_path: Path) -> None:
    """`contains` answers have no majority to take: the vote row says so, not "0-100"."""
    tasks, out = tmp_path / "open.jsonl", tmp_path / "out"
    tasks.write_text(
        json.dumps(
            {"id": "o1", "question": "What is 6 times 7?", "answer": "42", "scorer": "contains"}
        )
        + "\n"
    )
    with ThreadedUpstream(eval_upstream(scripted(SAYS), GOLD.__getitem__)) as up:
        proc = run_parley(cli_env(up.base_url), "eval", str(tasks), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    vote = next(
        line.split() for line in proc.stdout.splitlines() if line.strip().startswith("vote")
    )
    assert vote == ["vote", "-", "-", "0", "-", "-"]
    assert "vote: no item it can score" in proc.stdout


def test_eval_names_bad_task_lines_and_unknown_systems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "q", "answer": "a"}\n{"id": 2}\n')
    with ThreadedUpstream(eval_upstream(scripted(SAYS), GOLD.__getitem__)) as up:
        env = cli_env(up.base_url)
        proc = run_parley(env, "eval", str(bad), "--out", str(tmp_path / "o"))
        unknown = run_parley(env, "eval", str(tasks_file(tmp_path)), "--systems", "fusion,best")
        dry = run_parley(env, "eval", str(tasks_file(tmp_path)), "--dry-run", "--systems", "fusion")
    assert proc.returncode == 1 and "bad.jsonl:2:" in proc.stderr
    assert unknown.returncode == 2 and "unknown system 'best'" in unknown.stderr
    assert dry.returncode == 0 and "fusion: 2 items, 10 calls" in dry.stdout


class HangsOn(FunctionModel):
    """Answers at once, except on `question`, where it waits for `gate` (set by the test)."""

    def __init__(self, fn: Any, question: str, gate: threading.Event) -> None:
        super().__init__(fn)
        self.question, self.gate = question, gate

    async def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[Delta]:
        if self.question in json.dumps(body.get("messages")):
            await asyncio.to_thread(self.gate.wait)
        async for delta in super().stream(body, headers):
            yield delta


def test_ctrl_c_keeps_every_finished_record(tmp_path: Path) -> None:
    tasks, out = tasks_file(tmp_path), tmp_path / "out"
    gate = threading.Event()
    slow = HangsOn(lambda r: SAYS["vendor/a"][r.last_user], "6 times 7", gate)
    command = ("eval", str(tasks), "--out", str(out), "--systems", "solo:vendor/a")
    with (
        ThreadedUpstream(FakeUpstream({"vendor/a": slow})) as up,
        spawn_parley(cli_env(up.base_url), *command, "--concurrency", "1") as proc,
    ):
        try:
            assert proc.stderr is not None
            for line in proc.stderr:  # the first item's progress line: its record is written
                if "solo:vendor/a t0: right" in line:
                    break
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 130
            said = proc.stderr.read()
        finally:
            gate.set()
        assert "run the same command again to resume" in said and "Traceback" not in said
        records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
        assert [(r["item"], r["status"]) for r in records] == [("t0", "ok")]
        row = json.loads(
            run_parley(cli_env("http://127.0.0.1:9"), "eval", "report", str(out), "--json").stdout
        )["systems"]["solo:vendor/a"]
        assert (row["n"], row["correct"]) == (1, 1)
        # The same command again asks only for what is missing.
        asked = len(slow.requests)
        again = run_parley(cli_env(up.base_url), *command, "--json")
        assert again.returncode == 0, again.stderr
        assert len(slow.requests) == asked + 1
    report = json.loads(again.stdout)
    assert report["run"]["skipped"] == 1 and report["run"]["written"] == 1
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert [r["item"] for r in records] == ["t0", "t1"]
