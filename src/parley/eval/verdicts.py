"""What a grader model is asked, and how its reply is read: a rubric verdict (pass/fail)
or a pairwise preference (answer 1, answer 2, or a tie).

The reply is asked for as one JSON object; a final `VERDICT: PASS` / `WINNER: 2` line is
read too, since small models often add prose around (or instead of) the JSON. A reply
neither reading finds is no verdict (None): the item is ungraded, never counted wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

RUBRIC_SYSTEM = (
    "You grade an answer against a rubric. Decide only whether the answer meets the "
    "rubric; ignore style and length unless the rubric asks about them. Reply with one "
    'JSON object and nothing else: {"verdict": "pass" or "fail", "reason": "one sentence"}.'
)

PAIRWISE_SYSTEM = (
    "You compare two answers to the same question and say which is better: more correct "
    "first, then more complete and clearer. The order the answers are shown in says "
    "nothing about their quality. Reply with one JSON object and nothing else: "
    '{"winner": "1", "2" or "tie", "reason": "one sentence"}.'
)


@dataclass(frozen=True)
class Grade:
    """One grader reply and what was read from it (None: no verdict found)."""

    verdict: Any
    reply: str
    grader: str


_PASS = {"pass", "passed", "yes", "true", "correct"}
_FAIL = {"fail", "failed", "no", "false", "incorrect"}


def _question_text(prompt: Any) -> str:
    """The question as text: a conversation's messages written one per line."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in prompt)
    return "(the question was not recorded)"


def rubric_messages(gold: dict[str, Any], answer: str) -> list[dict[str, str]]:
    """The grader's conversation for one answer to a rubric item (its `rubric`, else its
    `answer` read as the rubric)."""
    # Without a `rubric` field, the item's `answer` is the rubric.
    rubric = gold.get("rubric") or gold["answer"]
    parts = [f"Question:\n{_question_text(gold.get('prompt'))}", f"Rubric:\n{rubric}"]
    if gold.get("rubric") and str(gold.get("answer", "")).strip():
        parts.append(f"Reference answer:\n{gold['answer']}")
    parts.append(f"Answer to grade:\n{answer}")
    return [
        {"role": "system", "content": RUBRIC_SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def pairwise_messages(gold: dict[str, Any], first: str, second: str) -> list[dict[str, str]]:
    """The grader's conversation comparing `first` (answer 1) with `second` (answer 2)."""
    parts = [f"Question:\n{_question_text(gold.get('prompt'))}"]
    if gold.get("rubric"):
        parts.append(f"Rubric:\n{gold['rubric']}")
    if str(gold.get("answer", "")).strip():
        parts.append(f"Reference answer:\n{gold['answer']}")
    parts += [f"Answer 1:\n{first}", f"Answer 2:\n{second}"]
    return [
        {"role": "system", "content": PAIRWISE_SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def _last_object(text: str) -> dict[str, Any] | None:
    """The last JSON object in the text (inside a code fence or prose too)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            found = value
    return found


def parse_verdict(text: str) -> bool | None:
    """A rubric reply's verdict: True (pass), False (fail) or None (none found)."""
    obj = _last_object(text)
    if obj is not None and isinstance(obj.get("verdict"), str):
        word = obj["verdict"].strip().lower()
        if word in _PASS | _FAIL:
            return word in _PASS
    lines = re.findall(r"verdict\W{0,4}(pass|fail)\b", text, flags=re.IGNORECASE)
    return lines[-1].lower() == "pass" if lines else None


def parse_preference(text: str) -> str | None:
    """A pairwise reply's winner: "1", "2", "tie", or None (none found)."""
    obj = _last_object(text)
    if obj is not None and "winner" in obj:
        word = str(obj["winner"]).strip().lower().removeprefix("answer").strip()
        if word in ("1", "2", "tie"):
            return word
    lines = re.findall(r"winner\W{0,4}(?:answer\s*)?(1|2|tie)\b", text, flags=re.IGNORECASE)
    return lines[-1].lower() if lines else None


def agreed(a_first: str | None, b_first: str | None) -> str | None:
    """The pairwise outcome from both orders: "a" or "b" only when both orders pick the
    same answer, else "tie"; None when either order gave no verdict.

    `a_first` is the verdict with a's answer shown as answer 1, `b_first` with b's first.
    """
    if a_first is None or b_first is None:
        return None
    first = {"1": "a", "2": "b"}.get(a_first, "tie")
    second = {"1": "b", "2": "a"}.get(b_first, "tie")
    return first if first == second else "tie"
