"""Deterministic scorers: each extracts the answer it found from the raw text and compares
it with the gold one, keeping both so a wrong parse can be seen in the report."""

from __future__ import annotations

import math
import re
import string
from dataclasses import asdict, dataclass
from typing import Any

from parley.eval.latex import latex_answer, normalise_latex

# Scorers whose extracted answers can be counted for a majority (vote, self-consistency).
CLOSED_FORM = ("exact", "number", "choice")
# Scorers that need a grader model; a report leaves their items unscored until one runs.
UNSCORED = ("rubric",)


@dataclass
class Score:
    correct: bool
    raw: str
    extracted: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD-style exact match)."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _to_float(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("$", ""))
    except ValueError:
        return None


def extract_number(text: str) -> str | None:
    """GSM8K's `#### 42` when present, else a boxed answer, else the last number."""
    for pattern in (r"####\s*(" + _NUMBER.pattern + ")", r"\\boxed\{\s*(" + _NUMBER.pattern + ")"):
        found = re.findall(pattern, text)
        if found:
            return str(found[-1]).replace(",", "").replace("$", "")
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "").replace("$", "").rstrip(".") if numbers else None


# Most explicit first: a stated answer wins over a letter that merely appears in the prose.
_CHOICE_PATTERNS = (
    r"answer\s*(?:is|:)?\s*[:\-]?\s*\**\(?([A-J])\)?\**(?![A-Za-z])",
    r"\*\*\(?([A-J])\)?\*\*",
    r"\(([A-J])\)",
    r"^\s*\(?([A-J])[\).:]?\s*$",
    r"^\s*\(?([A-J])[\).:]\s",
)


def extract_choice(text: str) -> str | None:
    """The letter chosen: "The answer is (B)", "**B**", "(B)", a bare "B", "B. Paris"."""
    for pattern in _CHOICE_PATTERNS:
        found = re.findall(pattern, text, flags=re.IGNORECASE | re.MULTILINE)
        if found:
            return str(found[-1]).upper()
    return None


def extract(scorer: str, text: str) -> str | None:
    """The answer a closed-form scorer reads from `text` (None: none found)."""
    if scorer == "number":
        return extract_number(text)
    if scorer == "choice":
        return extract_choice(text)
    return normalise(text) if text.strip() else None


def score(gold: dict[str, Any], text: str) -> Score:
    """Score `text` against a record's gold answer (`answer`, `scorer`, its knobs)."""
    scorer, answer = gold["scorer"], str(gold["answer"])
    if scorer == "number":
        got = extract_number(text)
        want, have = _to_float(answer), _to_float(got) if got is not None else None
        tolerance = float(gold.get("tolerance", 1e-6))
        ok = want is not None and have is not None
        ok = ok and math.isclose(have or 0.0, want or 0.0, rel_tol=0, abs_tol=tolerance)
        return Score(ok, text, got)
    if scorer == "choice":
        got = extract_choice(text)
        return Score(got is not None and got == answer.strip().upper(), text, got)
    if scorer == "regex":
        match = re.search(answer, text, flags=re.IGNORECASE | re.DOTALL)
        return Score(match is not None, text, match.group(0) if match else None)
    if scorer == "contains":
        found = normalise(answer) in normalise(text)
        return Score(found, text, answer if found else None)
    if scorer == "exact" and gold.get("latex"):  # MATH: the boxed answer, LaTeX-normalised
        got = latex_answer(text)
        return Score(got == normalise_latex(answer), text, got)
    if scorer == "exact":
        got = normalise(text)
        return Score(got == normalise(answer), text, got)
    raise ValueError(f"scorer {scorer!r} needs a grader model; not scored here")


def safe_score(gold: dict[str, Any], text: str) -> Score:
    """`score`, with a rubric item (no deterministic score yet) counted as not right."""
    try:
        return score(gold, text)
    except ValueError:
        return Score(False, text, None)
