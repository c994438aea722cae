"""The log's store: migrations apply once and in order, even with another process
migrating meanwhile; the recorder of an interrupted run keeps what finished."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from parley.fusion import events as ev
from parley.store import EventRecorder
from parley.store.migrations import MIGRATIONS, migrate


def test_migrations_are_applied_once_and_in_order(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    conn = sqlite3.connect(db)
    assert migrate(conn) == len(MIGRATIONS)
    assert migrate(conn) == len(MIGRATIONS)  # a second open applies nothing
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.close()


def test_a_second_process_migrating_meanwhile_does_not_create_the_tables_twice(
    tmp_path: Path,
) -> None:
    db = tmp_path / "logs.db"
    late, early = sqlite3.connect(db, timeout=10), sqlite3.connect(db, timeout=10)
    raced: list[str] = []

    def other_process_migrates_first(sql: str) -> None:
        # `late` has read version 0 and is about to start writing: `early` gets in first.
        if not raced and sql.lstrip().upper().startswith("BEGIN"):
            raced.append(sql)
            migrate(early)

    late.set_trace_callback(other_process_migrates_first)
    assert migrate(late) == len(MIGRATIONS)
    assert raced, "the race was not staged"
    tables = late.execute("SELECT count(*) FROM sqlite_master WHERE name = 'entries'")
    assert tables.fetchone()[0] == 1
    late.close()
    early.close()


def test_event_recorder_keeps_what_finished_and_splits_runs() -> None:
    rec = EventRecorder()
    for run in range(2):
        rec(ev.PanelAdded("m", 0))
        rec(ev.PanelAdded("m", 1))  # the same model twice is still one panel
        rec(ev.PanelCompleted("m", 0, f"answer {run}", 1.5))
        rec(ev.PanelFailed("m", 1, "boom", 500, 0.5))
        if run == 0:
            rec(ev.AnalysisInProgress("j"))
            rec(ev.AnalysisCompleted(None, "judge_not_valid_json"))
    first, second = rec.interrupted()
    assert first.panel == second.panel == ["m", "m"]
    assert first.judge == "j" and first.failure_reason == "judge_not_valid_json"
    assert [r.content for r in second.responses] == ["answer 1"]
    assert second.failed == [{"model": "m", "error": "boom", "status_code": 500}]
    assert second.status == "interrupted"
