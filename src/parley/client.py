"""`Parley`, the library face: owns an HTTP session and a Runtime, and runs requests.

async with Parley() as p:
    d = await p.deliberate("Is nuclear power cheap?", panel=["openai/gpt-4.1", "x-ai/grok-4"])
    print(d.result.to_wire())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp

from parley import engine as chat_flow
from parley.config import Settings, load_settings
from parley.fusion import events as ev
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation, _make
from parley.http import new_session
from parley.models.base import ChatModel
from parley.runtime import Runtime
from parley.tools.web import Fetcher, SearchBackend


class Parley:
    """The library's entry point: an async context manager that owns an HTTP session and
    a Runtime, and runs deliberations, Chat Completions requests and `ask`.

    Args:
        settings: default `load_settings(env)`.
        env: environment for settings, keys and upstream bounds; default `os.environ`.
        models: ChatModel objects by id, used before any routing (fakes, custom models).
        search: web search backend; default chosen from the environment.
        fetcher: page fetcher for web_fetch; default the built-in one.
        session: an aiohttp session to use (not closed here); default one of our own.
    """

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        env: Mapping[str, str] | None = None,
        models: Mapping[str, ChatModel] | None = None,
        search: SearchBackend | None = None,
        fetcher: Fetcher | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._settings = settings or load_settings(env)
        self._env = env
        self._models = models
        self._search = search
        self._fetcher = fetcher
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
            self._runtime = Runtime.create(
                session=self._session,
                settings=self._settings,
                env=self._env,
                models=self._models,
                search=self._search,
                fetcher=self._fetcher,
            )
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
        return _make(question, self.runtime, panel, judge, params)

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
        on_text: Callable[[str], None] | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        on_tool: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> chat_flow.ChatOutcome:
        """Run a Chat Completions request (fusion tool, alias and plugin included)."""
        p = chat_flow.plan(request, self.runtime, depth=depth)
        return await chat_flow.run(
            p, self.runtime, on_text=on_text, on_event=on_event, on_tool=on_tool
        )

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
        on_text: Callable[[str], None] | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
    ) -> chat_flow.ChatOutcome:
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
        return await self.chat(request, on_text=on_text, on_event=on_event)
