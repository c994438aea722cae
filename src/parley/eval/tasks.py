"""Task sets: JSONL, one item a line, each naming its gold answer and how to score it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCORERS = ("exact", "number", "choice", "regex", "contains", "rubric")


class TaskFileError(ValueError):
    """A task file with lines that are not items; the message lists each by line number."""


@dataclass
class Item:
    """One question and its gold answer; `messages` when the item is a conversation."""

    id: str
    answer: str
    scorer: str
    question: str | None = None
    messages: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def prompt(self) -> str | list[dict[str, Any]]:
        return self.messages if self.messages is not None else self.question or ""

    def gold(self) -> dict[str, Any]:
        """What a record keeps of the item so a report can re-score without the task file
        (the question too: a grader model reads it)."""
        return {"answer": self.answer, "scorer": self.scorer, **self.extra, "prompt": self.prompt()}


def parse_item(raw: Any) -> Item:
    """One decoded line as an Item; ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    item_id = raw.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
        raise ValueError("`id` missing (a string or an integer)")
    question, messages = raw.get("question"), raw.get("messages")
    if (question is None) == (messages is None):
        raise ValueError("give exactly one of `question` and `messages`")
    if question is not None and not isinstance(question, str):
        raise ValueError("`question` is not a string")
    if messages is not None and not (
        isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages)
    ):
        raise ValueError("`messages` is not a non-empty list of objects")
    if "answer" not in raw or isinstance(raw["answer"], (dict, list)):
        raise ValueError("`answer` missing (a string or a number)")
    scorer = raw.get("scorer", "exact")
    if scorer not in SCORERS:
        raise ValueError(f"`scorer` {scorer!r} is not one of {', '.join(SCORERS)}")
    # A scorer's knobs (tolerance, rubric) travel with the item into every record.
    extra = {k: raw[k] for k in ("tolerance", "rubric", "choices") if k in raw}
    return Item(str(item_id), str(raw["answer"]), scorer, question, messages, extra)


def load_tasks(path: str | Path) -> list[Item]:
    """Every item of a JSONL file; TaskFileError listing each bad line (and duplicate ids)."""
    items: list[Item] = []
    problems: list[str] = []
    seen: set[str] = set()
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = parse_item(json.loads(line))
        except ValueError as exc:  # json's decode error is a ValueError too
            problems.append(f"{path}:{number}: {exc}")
            continue
        if item.id in seen:
            problems.append(f"{path}:{number}: duplicate id {item.id!r}")
            continue
        seen.add(item.id)
        items.append(item)
    if problems:
        raise TaskFileError("bad task lines:\n" + "\n".join(problems))
    if not items:
        raise TaskFileError(f"{path}: no items")
    return items


def select(
    items: list[Item], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[Item]:
    """`sample` items drawn with `seed` (kept in file order, so a rerun with the same seed
    resumes the same items), then the first `limit`."""
    if sample is not None and sample < len(items):
        chosen = set(random.Random(seed).sample(range(len(items)), sample))
        items = [item for i, item in enumerate(items) if i in chosen]
    return items[:limit] if limit else items
