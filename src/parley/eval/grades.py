"""A grader model's verdicts, asked once each: every reply is appended to
`out/grades.jsonl` under a hash of exactly what was asked (the grader, its messages: item,
rubric, the answers shown and their order), so reporting again asks nothing unless
`regrade`, and a changed answer or grader is asked afresh. A failed call is not kept (the
next report asks again); its item stays ungraded, never counted wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parley.client import Parley
from parley.config import Settings, load_settings
from parley.eval.records import GRADES, Loaded, RecordWriter, read_records
from parley.eval.verdicts import Grade, parse_verdict, rubric_messages
from parley.models.base import ChatModel


def _key(model: str, messages: list[dict[str, str]]) -> str:
    text = json.dumps([model, messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Grader:
    """Asks `model` at temperature 0, a few calls at a time, through a Parley client that
    is opened on first use: a report whose grades are all cached needs no model at all."""

    def __init__(
        self,
        model: str,
        out: Path,
        *,
        client: Parley | None = None,
        settings: Settings | Callable[[], Settings] | None = None,
        models: Mapping[str, ChatModel] | None = None,
        regrade: bool = False,
        concurrency: int = 4,
    ) -> None:
        self.model, self.out, self.regrade = model, out, regrade
        self.problems: list[str] = []
        loaded = read_records(out, GRADES)
        self.problems += loaded.problems
        self._cached = {r.get("key"): r for r in loaded.records if r.get("grader") == model}
        self._client, self._settings, self._models = client, settings, models
        self._stack = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._writer: RecordWriter | None = None

    async def _parley(self) -> Parley:
        async with self._opening:
            if self._client is None:
                settings = self._settings or load_settings
                if callable(settings):  # loaded only now: cached grades need no settings
                    settings = settings()
                self._client = await self._stack.enter_async_context(
                    Parley(settings=settings, models=self._models)
                )
            return self._client

    async def ask(
        self,
        kind: str,
        item: str,
        system: str,
        messages: list[dict[str, str]],
        parse: Callable[[str], Any],
    ) -> Grade | None:
        """The grade for these messages: cached, else asked and appended to the cache."""
        key = _key(self.model, messages)
        cached = self._cached.get(key)
        if cached is not None and not self.regrade:
            reply = str(cached.get("reply", ""))
        else:
            request = {"model": self.model, "messages": messages, "temperature": 0}
            async with self._slots:
                try:
                    outcome = await (await self._parley()).chat(request)
                except Exception as exc:  # a grader that fails leaves the item ungraded
                    self.problems.append(f"grader {self.model} failed on {item} ({system}): {exc}")
                    return None
            reply = outcome.text or ""
            if self._writer is None:
                self._writer = RecordWriter(self.out, GRADES)
            record = {"item": item, "system": system, "kind": kind, "key": key}
            self._writer.write({**record, "grader": self.model, "reply": reply})
            self._cached[key] = {"reply": reply}
        grade = Grade(parse(reply), reply, self.model)
        if grade.verdict is None:
            self.problems.append(f"grader {self.model} gave no verdict on {item} ({system})")
        return grade

    async def aclose(self) -> None:
        await self._stack.aclose()
        if self._writer is not None:
            self._writer.close()


async def grade_rubric(
    loaded: Loaded, systems: list[str], grader: Grader
) -> dict[tuple[str, str], Grade]:
    """The grade of every answered rubric item of `systems`, by (item, system)."""
    jobs = [
        (item, system, record)
        for (item, system), record in loaded.latest().items()
        if system in systems
        and record.get("status") == "ok"
        and record["gold"].get("scorer") == "rubric"
    ]
    grades = await asyncio.gather(
        *(
            grader.ask(
                "rubric",
                item,
                system,
                rubric_messages(record["gold"], record.get("answer") or ""),
                parse_verdict,
            )
            for item, system, record in jobs
        )
    )
    return {
        (item, system): grade
        for (item, system, _), grade in zip(jobs, grades, strict=True)
        if grade is not None and grade.verdict is not None
    }
