"""The gateway's log: each request that ran fusion, saved like a CLI exchange.

Off unless `log_gateway = true` is in the config (or a store is passed to `create_app`):
a gateway serves other people's questions, and keeping them is the operator's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from parley.engine.outcome import Outcome, Unfinished
from parley.errors import ConfigError
from parley.models.base import content_text, last_user_text
from parley.store import Entry, LogStore, entry_from_outcome, new_id

log = logging.getLogger("parley.gateway")


class GatewayLog:
    """Saves finished fusion requests to a LogStore, off the event loop."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    async def record(
        self,
        outcome: Outcome,
        messages: list[dict[str, Any]],
        error: str | None = None,
        *,
        entry_id: str | None = None,
        conversation_id: str | None = None,
    ) -> str | None:
        """Save `outcome` if it ran fusion; return the entry id (None when not saved).

        A log that cannot be written costs a warning in the server log, never the answer.
        """
        if not outcome.deliberations:
            return None
        entry = gateway_entry(outcome, messages, error, entry_id=entry_id)
        # A conversation's id is its first exchange's.
        entry.conversation_id = conversation_id or entry.id
        return await self.save(entry)

    async def save(self, entry: Entry) -> str | None:
        """Save an entry built elsewhere (a cancelled run's); its id, None when not saved."""
        try:
            await asyncio.to_thread(self.store.save, entry)
        except ConfigError as exc:
            log.warning("request not logged: %s", exc)
            return None
        return entry.id


def gateway_entry(
    outcome: Outcome,
    messages: list[dict[str, Any]],
    error: str | None = None,
    *,
    entry_id: str | None = None,
) -> Entry:
    """The log entry of a gateway run (whether or not the log keeps it)."""
    entry_id = entry_id or new_id()
    system = next(
        (content_text(m.get("content")) for m in messages if m.get("role") == "system"),
        None,
    )
    return entry_from_outcome(
        outcome,
        entry_id=entry_id,
        conversation_id=entry_id,
        question=last_user_text(messages),
        system=system,
        source="gateway",
        error=error,
    )


@contextlib.asynccontextmanager
async def keeping_unfinished(
    log: GatewayLog | None, messages: list[dict[str, Any]], **ids: str | None
) -> AsyncIterator[None]:
    """A run that fails after its deliberations finished is logged all the same (under
    `entry_id` and `conversation_id` when the face chose them)."""
    try:
        yield
    except Unfinished as exc:
        if log is not None:
            await log.record(exc.outcome, messages, error=exc.message, **ids)
        raise
