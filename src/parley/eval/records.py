"""The append-only record file: one JSON line per finished (or failed) item and system.

Each line is flushed and fsynced as it is written, so a Ctrl-C or a crash loses no finished
record; a torn trailing line (the process died mid-write) is reported and skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORDS = "records.jsonl"
RUN = "run.json"
GRADES = "grades.jsonl"  # a grader model's replies, so a report does not ask again


@dataclass
class Loaded:
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def latest(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The last record of each (item, system): a retried item's newer line wins."""
        return {(r["item"], r["system"]): r for r in self.records}


def read_records(out: Path, name: str = RECORDS) -> Loaded:
    """The records of `out/name` (the answers, or the grades), unreadable lines reported."""
    loaded = Loaded()
    path = out / name
    if not path.exists():
        return loaded
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "item" not in record or "system" not in record:
                    raise ValueError("not a record")
            except ValueError as exc:
                loaded.problems.append(f"{path}:{number}: skipped an unreadable record ({exc})")
                continue
            loaded.records.append(record)
    return loaded


class RecordWriter:
    """Appends records; a torn last line left by a killed run is ended first so the next
    record starts on a line of its own."""

    def __init__(self, out: Path, name: str = RECORDS) -> None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / name
        self._f = path.open("a", encoding="utf-8")
        if path.stat().st_size and not _ends_with_newline(path):
            self._f.write("\n")

    def write(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def write_run(out: Path, meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def read_run(out: Path) -> dict[str, Any]:
    path = out / RUN
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
