"""Each deterministic scorer on the answer shapes models actually write, keeping the raw
answer and what was extracted from it."""

from __future__ import annotations

import pytest

from parley.eval.scorers import extract_choice, extract_number, normalise, score


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("The answer is (B).", "B"),
        ("**C**", "C"),
        ("D", "D"),
        ("(A)", "A"),
        ("B. Paris is the capital.", "B"),
        ("Looking at A and C... the answer: D", "D"),
        ("Answer: **B**", "B"),
        ("I cannot tell.", None),
    ],
)
def test_choice_letter_is_found_in_the_shapes_models_write(text: str, letter: str | None) -> None:
    assert extract_choice(text) == letter


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("She pays 3 + 4 = 7 dollars.\n#### 7", "7"),
        ("So 12 apples, 1,200 grams.", "1200"),
        ("The total is $18.", "18"),
        ("\\boxed{42} and then 7", "42"),
        ("no digits", None),
    ],
)
def test_number_prefers_gsm8k_marker_then_boxed_then_last(text: str, number: str | None) -> None:
    assert extract_number(text) == number


def test_number_scores_within_tolerance_and_keeps_the_extraction() -> None:
    s = score({"answer": "3.14", "scorer": "number", "tolerance": 0.01}, "about 3.141")
    assert s.correct and s.extracted == "3.141" and s.raw == "about 3.141"
    assert not score({"answer": "18", "scorer": "number"}, "#### 19").correct


def test_exact_normalises_case_punctuation_and_articles() -> None:
    assert normalise("The  Eiffel Tower!") == "eiffel tower"
    assert score({"answer": "Eiffel Tower", "scorer": "exact"}, "the eiffel tower.").correct
    assert not score({"answer": "Paris", "scorer": "exact"}, "It is Paris").correct


def test_regex_contains_and_choice() -> None:
    assert score({"answer": r"\bblue\b", "scorer": "regex"}, "The sky is Blue").extracted == "Blue"
    assert score({"answer": "Rayleigh", "scorer": "contains"}, "rayleigh scattering").correct
    assert not score({"answer": "Mie", "scorer": "contains"}, "rayleigh scattering").correct
    wrong = score({"answer": "B", "scorer": "choice"}, "The answer is (C)")
    assert not wrong.correct and wrong.extracted == "C"


def test_rubric_is_not_scored_deterministically() -> None:
    with pytest.raises(ValueError, match="grader"):
        score({"answer": "x", "scorer": "rubric"}, "y")
