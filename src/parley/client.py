"""`Parley`, the library face: owns an HTTP session and a Runtime, and runs requests.

async with Parley() as p:
    d = await p.deliberate("Is nuclear power cheap?", panel=["openai/gpt-4.1", "x-ai/grok-4"])
    print(d.result.to_wire())
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import aiohttp

from parley import engine
from parley.config import Settings
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation
from parley.http import new_session
from parley.models.base import ChatModel
from parley.runtime import UNSET, Runtime, Setup, Unset, build
from parley.tools.web.protocols import Fetcher, SearchBackend
from parley.wire import responses_request
from parley.wire.chat_request import to_request
from parley.wire.responses_events import ResponseBuild
from parley.wire.responses_output import ResponseShape


class Parley:
    """The library's entry point: an async context manager that owns an HTTP session and
    a Runtime, and runs deliberations, Chat Completions requests and `ask`.

    Args:
        settings: default `load_settings()` (the config file and the environment).
        models: ChatModel objects by id, used before any routing (fakes, custom models).
        search: web search backend; default chosen from the settings (None: none).
        fetcher: page fetcher for web_fetch; default the built-in one (None: none).
        now: the clock the datetime tool reads.
        session: an aiohttp session to use (not closed here); default one of our own.
    """

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        models: Mapping[str, ChatModel] | None = None,
        search: SearchBackend | Unset | None = UNSET,
        fetcher: Fetcher | Unset | None = UNSET,
        now: Callable[[], datetime] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._setup = Setup(settings, models, search, fetcher, now)
        self._session = session
        self._own_session = session is None
        self._runtime: Runtime | None = None

    async def __aenter__(self) -> Parley:
        try:
            self.runtime  # noqa: B018 - builds the session inside the running loop
        except BaseException:
            # A config error after the session opened must not leave it unclosed.
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this object opened it; `async with` calls this."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._runtime = None

    @property
    def runtime(self) -> Runtime:
        """The Runtime every call shares, built on first use (inside the running loop)."""
        if self._runtime is None:
            if self._session is None:
                self._session = new_session()
            self._runtime = build(self._setup, self._session)
        return self._runtime

    def deliberation(
        self,
        question: str | list[dict[str, Any]],
        *,
        panel: list[str] | None = None,
        judge: str | None = None,
        params: FusionParams | dict[str, Any] | None = None,
    ) -> Deliberation:
        """A deliberation ready to `run()` or to iterate with `events()`."""
        return Deliberation.create(self.runtime, question, panel=panel, judge=judge, params=params)

    async def deliberate(
        self,
        question: str | list[dict[str, Any]],
        *,
        panel: list[str] | None = None,
        judge: str | None = None,
        params: FusionParams | dict[str, Any] | None = None,
    ) -> Deliberation:
        """Run a deliberation to the end and return it (`.result`, `.usage`, `.responses`)."""
        d = self.deliberation(question, panel=panel, judge=judge, params=params)
        await d.run()
        return d

    async def chat(
        self,
        request: dict[str, Any],
        *,
        depth: int = 0,
        on_event: Callable[[engine.Event], None] | None = None,
        panel_text: bool | None = None,
    ) -> engine.Outcome:
        """Run a Chat Completions request (fusion tool, alias and plugin included).

        `on_event` hears every event of the run (the answer's text as it is written,
        server tools, the panel's progress, each panelist's text unless `panel_text` is
        false).
        """
        p = engine.plan(to_request(request), self.runtime, depth=depth)
        listening = on_event is not None
        return await engine.run(
            p,
            self.runtime,
            emit=on_event,
            stream=listening,
            panel_text=listening if panel_text is None else panel_text,
        )

    async def respond(
        self,
        request: dict[str, Any],
        *,
        depth: int = 0,
        on_event: Callable[[engine.Event], None] | None = None,
    ) -> dict[str, Any]:
        """Run a Responses API request (fusion tool, alias and plugin included) and return
        the `response` object, as `POST /v1/responses` answers it."""
        asked = responses_request.to_request(request)
        p = engine.plan(asked.request, self.runtime, depth=depth)
        build = ResponseBuild(ResponseShape(p.outer_model, asked.echo, asked.notes))

        def heard(event: engine.Event) -> None:
            build.feed(event)
            if on_event is not None:
                on_event(event)

        outcome = await engine.run(p, self.runtime, emit=heard, stream=on_event is not None)
        build.finish(outcome)
        return build.response

    async def ask(
        self,
        question: str,
        *,
        model: str | None = None,
        panel: list[str] | None = None,
        judge: str | None = None,
        system: str | None = None,
        params: dict[str, Any] | None = None,
        force_fusion: bool = True,
        history: list[dict[str, Any]] | None = None,
        on_event: Callable[[engine.Event], None] | None = None,
        panel_text: bool | None = None,
    ) -> engine.Outcome:
        """Ask the outer model, with fusion forced once (unless `force_fusion=False`)."""
        fusion: dict[str, Any] = dict(params or {})
        if panel:
            fusion["analysis_models"] = panel
        if judge:
            fusion["model"] = judge
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend(history or [])  # earlier turns of a conversation being continued
        messages.append({"role": "user", "content": question})
        settings = self.runtime.settings
        # The configured model before the preset's: `ask` names no preset of its own.
        request: dict[str, Any] = {
            "model": model or settings.model or settings.outer_model_for(),
            "messages": messages,
            "tools": [{"type": "openrouter:fusion", "parameters": fusion}],
        }
        if force_fusion:
            request["tool_choice"] = "required"
        return await self.chat(request, on_event=on_event, panel_text=panel_text)


async def deliberate(
    question: str | list[dict[str, Any]],
    *,
    runtime: Runtime | None = None,
    panel: list[str] | None = None,
    judge: str | None = None,
    params: FusionParams | dict[str, Any] | None = None,
) -> Deliberation:
    """Run one deliberation and return it, finished (`.result`, `.usage`, `.timings`); with
    no runtime, on a `Parley` of its own (the settings from the environment)."""
    if runtime is not None:
        d = Deliberation.create(runtime, question, panel=panel, judge=judge, params=params)
        await d.run()
        return d
    async with Parley() as p:
        return await p.deliberate(question, panel=panel, judge=judge, params=params)


def deliberate_sync(question: str | list[dict[str, Any]], **kwargs: Any) -> Deliberation:
    """`deliberate()` for code that is not async."""
    return asyncio.run(deliberate(question, **kwargs))
