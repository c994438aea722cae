"""One MCP deliberation: the tool's arguments become an `ask` with fusion forced, the
panel stops at the deadline, and the exchange is logged like the CLI's (source `mcp`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from parley.client import Parley
from parley.config import Settings
from parley.engine import Event, Outcome
from parley.errors import ConfigError, InvalidParameter
from parley.fusion.params import FusionParams
from parley.mcp.output import DeliberationOutput, output_of
from parley.runtime import Setup
from parley.store import LogStore, entry_from_outcome, new_id

log = logging.getLogger("parley.mcp")

Detail = Literal["summary", "full"]
# Asked of the outer model: the host's context is what the synthesis is written into.
SYSTEM = (
    "You are answering a coding agent or assistant that asked for a second opinion. "
    "Call fusion, then write a short synthesis (a few paragraphs at most): the answer, "
    "where the panel agreed, and what is still disputed."
)


def new_deliberation_id() -> str:
    """128 random bits: a handle nobody can guess, so it needs no other secret."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Ask:
    """The `deliberate` tool's arguments, checked later by FusionParams."""

    question: str
    preset: str | None = None
    models: list[str] | None = None
    judge: str | None = None
    web: bool = True
    max_tool_calls: int | None = None
    deadline_s: float | None = None
    detail: Detail = "summary"

    def panel(self, settings: Settings) -> tuple[list[str] | None, str | None, str | None]:
        """The panel, judge and outer model, from the models named or the preset's."""
        if self.preset and not self.models:
            chosen = settings.preset_named(self.preset)
            return list(chosen.analysis_models), self.judge or chosen.model, chosen.outer
        return self.models, self.judge, None

    def check(self, settings: Settings) -> None:
        """Raise the error a bad argument would cause later, naming it, before a handle
        is handed out for a run that could only fail."""
        if not self.question.strip():
            raise InvalidParameter("question", "must not be empty")
        self.panel(settings)
        FusionParams.parse(self.params(settings))

    def params(self, settings: Settings) -> dict[str, Any]:
        params: dict[str, Any] = {"deadline_s": self.deadline_s or settings.mcp_deadline_s}
        if not self.web:
            params["tools"] = []
        if self.max_tool_calls is not None:
            params["max_tool_calls"] = self.max_tool_calls
        return params


async def deliberate(
    settings: Settings,
    store: LogStore | None,
    ask: Ask,
    deliberation_id: str,
    on_event: Callable[[Event], None],
    setup: Setup | None = None,
) -> DeliberationOutput:
    """Run `ask` to the end, log it, and return the whole result (every member's answer
    included: the resource serves it; the tool trims it unless `detail` is full)."""
    ask.check(settings)
    panel, judge, outer = ask.panel(settings)
    setup = setup or Setup()  # the gateway's: its models, search and fetcher too
    async with Parley(
        settings=settings,
        models=setup.models,
        search=setup.search,
        fetcher=setup.fetcher,
        now=setup.now,
    ) as p:
        outcome = await p.ask(
            ask.question,
            model=outer,
            panel=panel,
            judge=judge,
            system=SYSTEM,
            params=ask.params(settings),
            on_event=on_event,
            panel_text=False,  # progress counts members, it does not relay their text
        )
    log_id = await _save(store, outcome, ask.question)
    return output_of(outcome, deliberation_id, full=True, log_id=log_id)


async def _save(store: LogStore | None, outcome: Outcome, question: str) -> str | None:
    """Log like the CLI and the gateway; a log that cannot be written costs a warning
    on stderr, never the answer."""
    if store is None:
        return None
    entry_id = new_id()
    entry = entry_from_outcome(
        outcome, entry_id=entry_id, conversation_id=entry_id, question=question, source="mcp"
    )
    try:
        await asyncio.to_thread(store.save, entry)
    except ConfigError as exc:
        log.warning("deliberation not logged: %s", exc)
        return None
    return entry_id
