"""Grader models: a rubric verdict read from the grader's reply (JSON or a final VERDICT
line), kept in the records directory so reporting again asks nothing, and the pairwise
rule (a win only when both orders agree), all on scripted fake graders whose replies make
each outcome known."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from parley import eval as parley_eval
from parley.config import Settings, load_settings
from parley.errors import UpstreamError
from parley.eval.records import GRADES
from parley.eval.verdicts import agreed, parse_preference, parse_verdict
from parley.testing import FunctionModel
from parley.testing.models import FakeRequest


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"verdict": "pass", "reason": "names Rayleigh scattering"}', True),
        ('Let me check.\n```json\n{"verdict": "FAIL", "reason": "no cause given"}\n```', False),
        ("The answer names the cause.\nVERDICT: PASS", True),
        ("It misses the point.\n**Verdict:** fail", False),
        ('{"verdict": "maybe"}\nVERDICT: FAIL', False),  # the JSON says nothing: the line does
        ("I think this answer is good.", None),  # no verdict: ungraded, not wrong
    ],
)
def test_a_rubric_verdict_is_read_from_json_or_a_final_line(reply: str, verdict: Any) -> None:
    assert parse_verdict(reply) is verdict


@pytest.mark.parametrize(
    ("reply", "winner"),
    [
        ('{"winner": "2", "reason": "more complete"}', "2"),
        ('{"winner": "Answer 1"}', "1"),
        ('{"winner": 1}', "1"),
        ("Both are equally right.\nWINNER: tie", "tie"),
        ("Answer 2 is better.", None),
    ],
)
def test_a_pairwise_preference_is_read_from_json_or_a_final_line(
    reply: str, winner: str | None
) -> None:
    assert parse_preference(reply) == winner


@pytest.mark.parametrize(
    ("a_first", "b_first", "outcome"),
    [
        ("1", "2", "a"),  # a chosen in both orders
        ("2", "1", "b"),
        ("1", "1", "tie"),  # the grader picked whatever came first: no win
        ("2", "2", "tie"),
        ("tie", "2", "tie"),
        ("1", None, None),  # one order unread: ungraded, not a tie
    ],
)
def test_a_pairwise_win_needs_both_orders_to_agree(
    a_first: str | None, b_first: str | None, outcome: str | None
) -> None:
    assert agreed(a_first, b_first) == outcome


# --- Through parley.eval, on scripted fakes -------------------------------------------

RUBRIC = "Names Rayleigh scattering as the cause."
TASKS = [
    {"id": "sky", "question": "Why is the sky blue?", "answer": "", "rubric": RUBRIC},
    {"id": "sunset", "question": "Why are sunsets red?", "answer": "", "rubric": RUBRIC},
    {"id": "legs", "question": "How many legs has a spider?", "answer": "8", "scorer": "number"},
]
SAYS = {
    "vendor/a": {
        "Why is the sky blue?": "Rayleigh scattering of sunlight.",
        "Why are sunsets red?": "Rayleigh scattering removes the blue over the long path.",
        "How many legs has a spider?": "8",
    },
    "vendor/b": {
        "Why is the sky blue?": "It reflects the ocean.",
        "Why are sunsets red?": "Rayleigh scattering, mostly.",
        "How many legs has a spider?": "6",
    },
}


def rubric_grader(req: FakeRequest) -> str:
    """Passes an answer that mentions Rayleigh, in the reply shape asked for."""
    answer = req.last_user.split("Answer to grade:\n", 1)[1]
    verdict = "pass" if "rayleigh" in answer.lower() else "fail"
    return f'{{"verdict": "{verdict}", "reason": "scripted"}}'


def longer_wins(req: FakeRequest) -> str:
    """Prefers the longer answer wherever it is shown: a consistent grader."""
    found = re.search(r"Answer 1:\n(.*)\n\nAnswer 2:\n(.*)", req.last_user, re.S)
    assert found is not None
    one, two = found.groups()
    return json.dumps({"winner": "1" if len(one) > len(two) else "2"})


def models(grader: Any) -> dict[str, FunctionModel]:
    found = {m: FunctionModel(lambda r, t=t: t[r.last_user]) for m, t in SAYS.items()}
    found["vendor/grader"] = grader if isinstance(grader, FunctionModel) else FunctionModel(grader)
    return found


def settings() -> Settings:
    return load_settings(
        overrides={"panel": list(SAYS), "model": "vendor/a", "web": {"search": "off"}}
    )


def answered(tmp_path: Path, grader: Any) -> Path:
    """Both solo systems run over TASKS, rubric items graded by `grader`; the records dir."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "".join(json.dumps({"scorer": "rubric", **t}) + "\n" for t in TASKS), encoding="utf-8"
    )
    out = tmp_path / "out"
    parley_eval.run(
        tasks,
        out=out,
        systems="solo:vendor/a,solo:vendor/b",
        settings=settings(),
        models=models(grader),
        grader="vendor/grader",
    )
    return out


def test_rubric_items_are_graded_once_and_kept(tmp_path: Path) -> None:
    grader = FunctionModel(rubric_grader)
    out = answered(tmp_path, grader)
    assert len(grader.requests) == 4  # two rubric items, two systems
    assert all(r.body.get("temperature") == 0 for r in grader.requests)
    assert "Names Rayleigh scattering" in grader.requests[0].last_user

    def never(req: FakeRequest) -> str:
        raise AssertionError("a kept grade was asked again")

    report = parley_eval.report(
        out, grader="vendor/grader", settings=settings(), models=models(never)
    )
    a, b = report["systems"]["solo:vendor/a"], report["systems"]["solo:vendor/b"]
    assert (a["correct"], a["n"], a["unscored"]) == (3, 3, 0)
    assert (b["correct"], b["n"]) == (1, 3)  # the sunset only: "reflects the ocean" fails
    sky = next(i for i in b["items"] if i["id"] == "sky")
    assert (sky["correct"], sky["extracted"], sky["raw"]) == (
        False,
        "fail",
        "It reflects the ocean.",
    )
    assert '"verdict": "fail"' in sky["grader_reply"]
    assert len((out / GRADES).read_text().splitlines()) == 4

    again = FunctionModel(rubric_grader)
    parley_eval.report(
        out, grader="vendor/grader", regrade=True, settings=settings(), models=models(again)
    )
    assert len(again.requests) == 4  # --regrade asks again


def test_rubric_items_without_a_verdict_are_ungraded_not_wrong(tmp_path: Path) -> None:
    def fails(req: FakeRequest) -> str:
        raise UpstreamError("grader down")

    out = answered(tmp_path, fails)
    report = parley_eval.report(out)  # no grader named, none kept: ungraded
    row = report["systems"]["solo:vendor/b"]
    assert (row["correct"], row["n"], row["unscored"]) == (0, 1, 2)
    mumbles = parley_eval.report(
        out,
        grader="vendor/grader",
        settings=settings(),
        models=models(lambda r: "Hard to say."),
    )
    assert mumbles["systems"]["solo:vendor/a"]["unscored"] == 2
    assert any("gave no verdict on sky" in p for p in mumbles["problems"])


def test_pairwise_counts_a_win_only_when_both_orders_agree(tmp_path: Path) -> None:
    out = answered(tmp_path, rubric_grader)
    fair = parley_eval.pairwise(
        out,
        "solo:vendor/a",
        "solo:vendor/b",
        grader="vendor/judge2",
        settings=settings(),
        models={"vendor/judge2": FunctionModel(longer_wins)},
    )
    # a's answer is longer on sky and sunset; on legs "8" and "6" tie in length, so the
    # grader says "2" in both orders: a tie.
    assert (fair["wins"], fair["losses"], fair["ties"], fair["n"]) == (2, 0, 1, 3)
    assert fair["win_rate"] == 1.0 and fair["p_value"] == 0.5  # 2 of 2: the sign test's p
    assert fair["interval"][0] == pytest.approx(0.342, abs=1e-3)  # Wilson, 2 of 2
    assert {i["id"]: i["outcome"] for i in fair["items"]} == {
        "sky": "a",
        "sunset": "a",
        "legs": "tie",
    }

    biased = FunctionModel(lambda r: '{"winner": "1"}')  # always the first shown
    first = parley_eval.pairwise(
        out,
        "solo:vendor/a",
        "solo:vendor/b",
        grader="vendor/biased",
        settings=settings(),
        models={"vendor/biased": biased},
    )
    assert (first["wins"], first["losses"], first["ties"]) == (0, 0, 3)
    assert first["win_rate"] is None and len(biased.requests) == 6  # each item, both orders


def test_pairwise_names_the_recorded_systems_when_one_is_missing(tmp_path: Path) -> None:
    out = answered(tmp_path, rubric_grader)
    with pytest.raises(parley_eval.PairwiseError, match=r"'fusion'.*solo:vendor/a, solo:vendor/b"):
        parley_eval.pairwise(out, "fusion", "solo:vendor/b", grader="vendor/grader")
