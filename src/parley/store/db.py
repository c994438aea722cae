"""The deliberation log: SQLite in the user data directory (`parley logs path`)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from parley.errors import ConfigError
from parley.redact import NO_SECRETS, Redactor
from parley.store.migrations import migrate
from parley.store.records import DeliberationRecord, Entry, PanelAnswer


def new_id() -> str:
    """Sortable by time (milliseconds, hex) with a random tail; any unique prefix finds it."""
    return f"{int(time.time() * 1000):011x}{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LogStore:
    """Reads and writes log entries; safe to share between a CLI and a gateway process.

    `redactor` masks credentials in everything written (upstream errors quote what they
    were sent) and in everything read back (entries written by an older version).
    """

    def __init__(self, path: Path, *, redactor: Redactor = NO_SECRETS) -> None:
        self.path = path
        self.redactor = redactor

    def _dumps(self, value: Any) -> str:
        return self.redactor.text(json.dumps(value, ensure_ascii=False))

    @overload
    def _text(self, value: str) -> str: ...
    @overload
    def _text(self, value: None) -> None: ...
    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redactor.text(value)

    def _loads(self, raw: str) -> Any:
        return json.loads(self.redactor.text(raw))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.path}: cannot open the log ({exc})") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
            yield conn
            conn.commit()
        except sqlite3.Error as exc:
            raise ConfigError(f"{self.path}: log database error ({exc})") from None
        finally:
            conn.close()

    def save(self, entry: Entry) -> None:
        """Insert or replace an entry and its deliberations."""
        entry.created_at = entry.created_at or _now()
        with self._connect() as conn:
            conn.execute("DELETE FROM entries WHERE id = ?", (entry.id,))
            conn.execute(
                "INSERT INTO entries (id, conversation_id, created_at, source, model, system,"
                " question, answer, status, error, usage, cost, seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.conversation_id,
                    entry.created_at,
                    entry.source,
                    self._text(entry.model),
                    self._text(entry.system),
                    self._text(entry.question),
                    self._text(entry.answer),
                    entry.status,
                    self._text(entry.error),
                    self._dumps(entry.usage),
                    entry.cost,
                    entry.seconds,
                ),
            )
            for pos, d in enumerate(entry.deliberations):
                conn.execute(
                    "INSERT INTO deliberations (entry_id, position, question, panel, judge,"
                    " status, responses, failed, analysis, failure_reason, sources, usage,"
                    " timings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.id,
                        pos,
                        self._text(d.question),
                        self._dumps(d.panel),
                        self._text(d.judge),
                        d.status,
                        self._dumps([vars(r) for r in d.responses]),
                        self._dumps(d.failed),
                        None if d.analysis is None else self._dumps(d.analysis),
                        d.failure_reason,
                        self._dumps(d.sources),
                        self._dumps(d.usage),
                        self._dumps(d.timings),
                    ),
                )

    def recent(self, limit: int = 20, query: str | None = None) -> list[Entry]:
        """Newest first; `query` matches question, answer or any panel answer."""
        sql = "SELECT * FROM entries"
        args: list[Any] = []
        if query:
            like = f"%{query}%"
            sql += (
                " WHERE question LIKE ? OR answer LIKE ? OR id IN"
                " (SELECT entry_id FROM deliberations WHERE responses LIKE ?)"
            )
            args += [like, like, like]
        sql += " ORDER BY created_at DESC, id DESC"
        if limit > 0:
            sql += " LIMIT ?"
            args.append(limit)
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
            return [self._entry(conn, row) for row in rows]

    def get(self, entry_id: str) -> Entry:
        """The entry whose id starts with `entry_id`; ConfigError if none or ambiguous."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM entries WHERE id LIKE ? ORDER BY id LIMIT 2",
                (entry_id.replace("%", "").replace("_", "") + "%",),
            ).fetchall()
            if not rows:
                raise ConfigError(f"no log entry {entry_id!r}; `parley logs` lists them")
            if len(rows) > 1:
                raise ConfigError(f"log id {entry_id!r} is ambiguous; give more characters")
            return self._entry(conn, rows[0])

    def conversation(self, conversation_id: str) -> list[Entry]:
        """Every entry of a conversation, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM entries WHERE conversation_id = ? ORDER BY created_at, id",
                (conversation_id,),
            ).fetchall()
            return [self._entry(conn, row, deep=False) for row in rows]

    def latest_conversation(self) -> str | None:
        """The id of the most recently logged conversation (for `ask -c`), or None."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT conversation_id FROM entries ORDER BY created_at DESC, id DESC LIMIT 1"
            ).fetchone()
            return str(row[0]) if row else None

    def _entry(self, conn: sqlite3.Connection, row: sqlite3.Row, *, deep: bool = True) -> Entry:
        entry = Entry(
            id=row["id"],
            conversation_id=row["conversation_id"],
            question=self._text(row["question"]),
            model=self._text(row["model"]),
            created_at=row["created_at"],
            source=row["source"],
            system=self._text(row["system"]),
            answer=self._text(row["answer"]),
            status=row["status"],
            error=self._text(row["error"]),
            usage=self._loads(row["usage"]),
            cost=row["cost"],
            seconds=row["seconds"],
        )
        if deep:
            for d in conn.execute(
                "SELECT * FROM deliberations WHERE entry_id = ? ORDER BY position", (entry.id,)
            ):
                entry.deliberations.append(
                    DeliberationRecord(
                        question=self._text(d["question"]),
                        panel=self._loads(d["panel"]),
                        judge=d["judge"],
                        status=d["status"],
                        responses=[PanelAnswer(**r) for r in self._loads(d["responses"])],
                        failed=self._loads(d["failed"]),
                        analysis=self._loads(d["analysis"]) if d["analysis"] else None,
                        failure_reason=d["failure_reason"],
                        sources=self._loads(d["sources"]),
                        usage=self._loads(d["usage"]),
                        timings=self._loads(d["timings"]),
                    )
                )
        return entry
