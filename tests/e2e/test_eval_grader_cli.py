"""Rubric items and `parley eval pairwise` through the CLI, aimed at a fake OpenRouter: the
run's judge grades rubric answers unless `--grader` names another, `parley eval report`
reuses the kept grades (asking nothing), and pairwise reports wins only where both orders
agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_kit import cli_env, run_parley
from parley.testing import ANALYSIS_JSON, FunctionModel, tool_call
from parley.testing.models import FakeRequest
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

QUESTIONS = {"sky": "Why is the sky blue?", "sea": "Why is the sea salty?"}
RUBRIC = "Gives a physical or chemical cause, not a myth."
SAYS = {
    "vendor/a": {
        "Why is the sky blue?": "Sunlight scatters off air molecules, blue the most.",
        "Why is the sea salty?": "Rivers carry dissolved minerals into it.",
    },
    "vendor/b": {
        "Why is the sky blue?": "A giant painted it.",
        "Why is the sea salty?": "Rivers carry salts.",
    },
}


def grader(req: FakeRequest) -> str:
    """A rubric verdict (fails the myth) or a preference for the longer answer."""
    text = req.last_user
    if "Answer to grade:" in text:
        return "Checked.\nVERDICT: " + ("FAIL" if "giant" in text else "PASS")
    found = re.search(r"Answer 1:\n(.*)\n\nAnswer 2:\n(.*)", text, re.S)
    assert found is not None
    one, two = found.groups()
    return json.dumps({"winner": "1" if len(one) >= len(two) else "2", "reason": "longer"})


def outer(req: FakeRequest) -> str | object:
    if "fusion" in req.tools and not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    return "fused"


def test_rubric_grades_are_kept_and_pairwise_needs_both_orders(tmp_path: Path) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out"
    tasks.write_text(
        "".join(
            json.dumps({"id": i, "question": q, "answer": "", "scorer": "rubric", "rubric": RUBRIC})
            + "\n"
            for i, q in QUESTIONS.items()
        )
    )
    models = {m: FunctionModel(lambda r, t=t: t[r.last_user]) for m, t in SAYS.items()}
    judge = FunctionModel(lambda r: ANALYSIS_JSON)
    models |= {"vendor/judge": judge, "vendor/outer": FunctionModel(outer)}
    models["vendor/grader"] = graded = FunctionModel(grader)
    with ThreadedUpstream(FakeUpstream(models)) as up:
        env = cli_env(up.base_url)
        systems = "solo:vendor/a,solo:vendor/b"
        run = run_parley(
            env, "eval", str(tasks), "--out", str(out), "--systems", systems,
            "--grader", "vendor/grader", "--json",
        )  # fmt: skip
        asked = len(graded.requests)
        again = run_parley(env, "eval", "report", str(out), "--grader", "vendor/grader")
        kept = len(graded.requests)
        by_judge = run_parley(env, "eval", "report", str(out))  # the run's judge: no verdicts
        pair = run_parley(
            env, "eval", "pairwise", str(out), "--a", "solo:vendor/a", "--b", "solo:vendor/b",
            "--grader", "vendor/grader",
        )  # fmt: skip
        missing = run_parley(env, "eval", "pairwise", str(out), "--a", "fusion", "--b", "vote")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)["systems"]
    assert (rows["solo:vendor/a"]["correct"], rows["solo:vendor/a"]["n"]) == (2, 2)
    assert (rows["solo:vendor/b"]["correct"], rows["solo:vendor/b"]["n"]) == (1, 2)
    assert asked == 4 and kept == 4  # the second report asked the grader nothing
    assert again.returncode == 0 and "solo:vendor/b" in again.stdout
    assert by_judge.returncode == 0 and "ungraded: 4 rubric answers" in by_judge.stdout
    assert pair.returncode == 0, pair.stderr
    assert "wins 2, losses 0, ties 0" in pair.stdout and "sign test p = 0.5" in pair.stdout
    assert missing.returncode == 2 and "no answered records of system 'fusion'" in missing.stderr
