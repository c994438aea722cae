"""The log's schema, as an append-only list of migrations.

Never edit or reorder an entry once released: add a new one. A database records how many
it has applied in `PRAGMA user_version`, so opening it applies only the ones it lacks.
"""

from __future__ import annotations

import sqlite3

from parley.errors import ConfigError

MIGRATIONS: list[str] = [
    # 1: one row per exchange (a question and its answer), one per deliberation inside it.
    """
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        system TEXT,
        question TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        error TEXT,
        usage TEXT NOT NULL DEFAULT '{}',
        cost REAL,
        seconds REAL
    );
    CREATE INDEX entries_conversation ON entries (conversation_id, created_at);
    CREATE INDEX entries_created ON entries (created_at);
    CREATE TABLE deliberations (
        entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        panel TEXT NOT NULL,
        judge TEXT NOT NULL,
        status TEXT NOT NULL,
        responses TEXT NOT NULL,
        failed TEXT NOT NULL,
        analysis TEXT,
        failure_reason TEXT,
        sources TEXT NOT NULL,
        usage TEXT NOT NULL,
        timings TEXT NOT NULL,
        PRIMARY KEY (entry_id, position)
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks; returns the schema version reached.

    Two processes may open a new log at once (a CLI and a gateway): the write lock is
    taken first (BEGIN IMMEDIATE) and the version read again under it, so the second one
    finds the work done instead of creating the tables twice.
    """
    if _version(conn) == len(MIGRATIONS):
        return len(MIGRATIONS)  # the usual case: no lock taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        for number in range(version + 1, len(MIGRATIONS) + 1):
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.commit()
    except BaseException:
        conn.rollback()  # DDL is transactional in SQLite: all of a step or none of it
        raise
    return len(MIGRATIONS)


def _version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise ConfigError(
            f"the log was written by a newer Parley (schema {version}); upgrade parley-llm"
        )
    return version


def _statements(script: str) -> list[str]:
    # executescript would commit the open transaction first, so run one statement at a time.
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out
