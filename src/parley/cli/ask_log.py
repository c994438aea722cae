"""What `parley ask` records: the conversation it continues, and the log entry it saves
however the run ends (answered or interrupted)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import click

from parley.cli._common import log_store
from parley.errors import ConfigError
from parley.store import Entry, EventRecorder, LogStore, new_id


@dataclass
class Conversation:
    """Where this exchange belongs: a new conversation, or earlier turns to continue."""

    id: str
    history: list[dict[str, Any]] = field(default_factory=list)
    system: str | None = None
    model: str | None = None


def conversation_for(store: LogStore | None, cid: str | None, cont: bool) -> Conversation:
    """A new conversation, or the logged one that `--cid` names or `-c` means (the latest),
    with its answered turns as history."""
    if not (cid or cont):
        return Conversation(new_id())  # also the id of its first exchange
    store = store or log_store()  # continuing reads the log even when this turn is not logged
    if cont and not cid:
        cid = store.latest_conversation()
        if cid is None:
            raise click.ClickException("no logged conversation to continue; ask without -c")
    assert cid is not None
    entries = store.conversation(cid)
    if not entries:  # an exchange's id (or a prefix of it) names its conversation too
        entries = store.conversation(store.get(cid).conversation_id)
    history: list[dict[str, Any]] = []
    for e in entries:
        if e.answer:  # an interrupted turn with no answer would leave the model a gap
            history += [
                {"role": "user", "content": e.question},
                {"role": "assistant", "content": e.answer},
            ]
    return Conversation(entries[0].conversation_id, history, entries[0].system, entries[-1].model)


@dataclass
class Exchange:
    """One `ask` run: what it asked, and what it needs to log however it ends."""

    question: str
    conversation: Conversation
    system: str | None
    model: str | None
    entry_id: str = field(default_factory=new_id)
    recorder: EventRecorder = field(default_factory=EventRecorder)
    text: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def interrupted_entry(self) -> Entry:
        """The log entry for a run stopped by Ctrl-C: the text and panel work so far."""
        return Entry(
            id=self.entry_id,
            conversation_id=self.conversation.id,
            question=self.question,
            model=self.model or "",
            system=self.system,
            answer="".join(self.text),
            status="interrupted",
            error="interrupted by the user (Ctrl-C)",
            seconds=time.perf_counter() - self.started,
            deliberations=self.recorder.interrupted(),
        )


def save(store: LogStore, entry: Entry) -> None:
    """Log an exchange; a log that cannot be written costs a warning, never the answer."""
    try:
        store.save(entry)
    except ConfigError as exc:
        click.echo(f"Warning: not logged: {exc}", err=True)
