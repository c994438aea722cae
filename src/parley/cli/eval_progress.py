"""What `parley eval` shows while it runs, on stderr: a live bar (items done of the total,
each system's running accuracy) on a terminal, one plain line per finished run elsewhere,
and nothing with `--json`."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from parley.cli._common import err_console, stderr_is_terminal
from parley.eval.scorers import UNSCORED, safe_score


class Tally:
    """Each system's right / scored / failed counts so far."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def add(self, record: dict[str, Any]) -> str:
        """Count one record; the word for it: right, wrong, failed: why, or answered."""
        counts = self.counts.setdefault(record["system"], [0, 0, 0])
        if record["status"] == "failed":
            counts[2] += 1
            return "failed: " + str(record.get("error", ""))
        if record["gold"]["scorer"] in UNSCORED:
            return "answered (rubric: not scored here)"
        ok = safe_score(record["gold"], record.get("answer") or "").correct
        counts[0] += ok
        counts[1] += 1
        return "right" if ok else "wrong"

    def so_far(self, system: str) -> str:
        right, scored, _ = self.counts.get(system, [0, 0, 0])
        return f"{right}/{scored}"

    def summary(self) -> str:
        parts = []
        for system, (right, scored, failed) in self.counts.items():
            acc = f" {100 * right / scored:.0f}%" if scored else ""
            parts.append(
                f"{system} {right}/{scored}{acc}" + (f" ({failed} failed)" if failed else "")
            )
        return " · ".join(parts)


class EvalProgress:
    """A context manager the run reports to through `start` and `record`."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tally = Tally()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> EvalProgress:
        if not self.quiet and stderr_is_terminal():
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[accuracy]}", markup=False),  # model ids are not markup
                console=err_console(),
                transient=True,  # the report table follows; the bar has done its job
            )
            self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, to_run: int, done: int) -> None:
        """The number of (item, system) runs ahead, and how many an earlier run did."""
        if self.bar is not None:
            label = f"eval ({done} already done)" if done else "eval"
            self.task = self.bar.add_task(label, total=to_run, accuracy="")

    def record(self, record: dict[str, Any]) -> None:
        """One finished (or failed) run."""
        if self.quiet:
            return
        mark = self.tally.add(record)
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, accuracy=self.tally.summary())
            return
        system = record["system"]
        err_console().print(
            f"{system} {record['item']}: {mark} ({self.tally.so_far(system)} so far)",
            markup=False,
            highlight=False,
        )
