"""Wilson intervals, the exact McNemar test and the task file's line-numbered errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from parley.eval.stats import mcnemar_p, paired_difference, percentile, wilson
from parley.eval.tasks import TaskFileError, load_tasks, select


def test_wilson_matches_the_textbook_values() -> None:
    low, high = wilson(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-4) and math.isclose(high, 0.9433, abs_tol=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0


def test_mcnemar_exact_is_the_two_sided_binomial() -> None:
    # 6 discordant pairs all one way: 2 * (1/2)**6
    assert math.isclose(mcnemar_p(6, 0), 2 / 64)
    assert math.isclose(mcnemar_p(3, 1), 2 * (1 + 4) / 16)
    assert mcnemar_p(2, 2) == 1.0 and mcnemar_p(0, 0) == 1.0
    assert 0.0 <= mcnemar_p(1500, 1400) <= 1.0  # no float overflow past ~1000 pairs


def test_paired_difference_and_percentile() -> None:
    mean, low, high = paired_difference([True, True, False, True], [False, True, False, False])
    assert mean == 0.5 and low < 0.5 < high
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5 and percentile([], 95) is None


def test_task_lines_parse_and_bad_lines_are_named_by_number(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"id": 1, "question": "2+2?", "answer": 4, "scorer": "number"}\n\n'
        '{"id": "m", "messages": [{"role": "user", "content": "hi"}], "answer": "hi"}\n'
    )
    items = load_tasks(good)
    assert [i.id for i in items] == ["1", "m"] and items[0].answer == "4"
    assert items[1].scorer == "exact" and items[1].prompt() == [{"role": "user", "content": "hi"}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": 1, "question": "q", "answer": "a"}\n'
        "not json\n"
        '{"id": 2, "answer": "a"}\n'
        '{"id": 3, "question": "q", "answer": "a", "scorer": "fuzzy"}\n'
        '{"id": 1, "question": "q", "answer": "a"}\n'
    )
    with pytest.raises(TaskFileError) as err:
        load_tasks(bad)
    text = str(err.value)
    assert all(f"bad.jsonl:{n}:" in text for n in (2, 3, 4, 5)) and "bad.jsonl:1:" not in text
    assert "fuzzy" in text and "duplicate id '1'" in text


def test_sample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("".join(f'{{"id": {i}, "question": "q", "answer": "a"}}\n' for i in range(20)))
    items = load_tasks(path)
    first = [i.id for i in select(items, sample=5, seed=7)]
    assert first == [i.id for i in select(items, sample=5, seed=7)]
    assert first == sorted(first, key=int) and len(first) == 5
    assert first != [i.id for i in select(items, sample=5, seed=8)]
    assert [i.id for i in select(items, limit=2)] == ["0", "1"]
