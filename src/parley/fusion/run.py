"""A deliberation: a panel answers in parallel, a judge maps the answers (contract 2-6).

It reports progress as `parley.fusion.events` to one listener; `events()` is the same run
as an async iterator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from parley import _constants as C
from parley.errors import (
    MissingKeyError,
    ParleyError,
    UnknownModelError,
    UpstreamError,
)
from parley.fusion import events as ev
from parley.fusion.judge import (
    RESPONSE_FORMAT,
    Verdict,
    judge_messages,
    read_verdict,
    reask_message,
)
from parley.fusion.panel import (
    all_failed_reason,
    dedupe_sources,
    panel_for,
    panel_messages,
    question_text,
)
from parley.fusion.params import FusionParams
from parley.fusion.research import Research, for_member, wants_search, with_plugins
from parley.fusion.result import FailedModel, FailureReason, FusionResult, PanelResponse
from parley.models.base import ChatModel, Source, run_turn
from parley.relay import relay
from parley.runtime import Runtime
from parley.tools import events as loop_ev
from parley.tools.loop import LoopResult, run_tool_loop
from parley.tools.web.search_tool import check_parameters as check_search_parameters
from parley.usage import Usage


def _rejects_schema(message: str) -> bool:
    low = message.lower()
    return any(w in low for w in ("response_format", "json_schema", "structured output"))


class Deliberation:
    """One fusion run. Its fields fill in as the run goes, so an interrupted run still
    shows what finished: `responses`, `failed`, `usage`, and `result` once done."""

    def __init__(
        self,
        runtime: Runtime,
        question: str | list[dict[str, Any]],
        params: FusionParams | None = None,
        *,
        judge_default: str | None = None,
        depth: int = 0,
    ) -> None:
        self.runtime = runtime.for_request()
        self.question = question
        self.params = params or FusionParams()
        # A panel that cannot be formed or an inner tool that cannot run is an
        # InvalidParameter now, not N failed panelists later.
        check_params(runtime, self.params)
        self.panel = panel_for(runtime, self.params)
        # The outer model is only the built-in default; a judge set in the config wins.
        self.judge: str = self.params.model or runtime.settings.judge_for(
            self.panel, outer=judge_default
        )
        self.headers = {C.DEPTH_HEADER: str(depth + 1)}
        self.usage = Usage()
        # Each member's own share of `usage`, by panel index (the page shows it per column).
        self.member_usage: dict[int, Usage] = {}
        self.responses: list[PanelResponse | None] = [None] * len(self.panel)
        self._failed: list[FailedModel | None] = [None] * len(self.panel)
        self.sources: list[Source] = []
        self.judge_detail = ""
        self.timings: dict[str, float] = {}
        self.result: FusionResult | None = None
        # Whether any member could search the web (the result says so when none could).
        self._searched = False
        self._emit: Callable[[ev.FusionEvent], None] = _ignore
        self._stream_text = False

    @classmethod
    def create(
        cls,
        runtime: Runtime,
        question: str | list[dict[str, Any]],
        *,
        panel: list[str] | None = None,
        judge: str | None = None,
        params: FusionParams | dict[str, Any] | None = None,
    ) -> Deliberation:
        """A deliberation from a library call's arguments: `panel` and `judge` override
        what `params` (a FusionParams or its dict) say."""
        if isinstance(params, dict) or params is None:
            params = FusionParams.parse(params or {})
        if panel is not None:
            only = FusionParams.parse({"analysis_models": panel})
            params = params.model_copy(update={"analysis_models": only.analysis_models})
        if judge is not None:
            params = params.model_copy(update={"model": judge})
        return cls(runtime, question, params)

    @property
    def failed(self) -> list[FailedModel]:
        """Panelists that failed, in panel order (not in the order they failed)."""
        return [f for f in self._failed if f is not None]

    # --- public faces -------------------------------------------------------------------

    async def run(
        self,
        on_event: Callable[[ev.FusionEvent], None] | None = None,
        *,
        panel_text: bool | None = None,
    ) -> FusionResult:
        """Run to the end and return the result; `on_event`, if given, hears each progress
        event as it happens, the last one FusionCompleted. The panel's text streams
        (`PanelDelta`) when `panel_text` (by default: when someone listens)."""
        if on_event is not None:
            self._emit = on_event
        self._stream_text = on_event is not None if panel_text is None else panel_text
        return await self._run()

    def events(self) -> AsyncGenerator[ev.FusionEvent, None]:
        """Run, yielding progress events; the last one is FusionCompleted. Closing the
        iterator early cancels the run."""
        return relay(self.run)

    # --- the run ------------------------------------------------------------------------

    async def _run(self) -> FusionResult:
        started = time.perf_counter()
        try:
            result = await self._panel_then_judge()
        except asyncio.CancelledError:
            self.result = self._error("cancelled", "the deliberation was cancelled")
            raise
        except Exception as exc:  # a bug must still produce a result the caller can read
            result = self._error("unexpected_error", f"{type(exc).__name__}: {exc}")
        self.timings["total"] = time.perf_counter() - started
        self.result = result
        self._emit(ev.FusionCompleted(result))
        return result

    def _error(self, reason: FailureReason, message: str) -> FusionResult:
        return FusionResult(
            status="error",
            error=message,
            failure_reason=reason,
            responses=[r for r in self.responses if r is not None],
            failed_models=self.failed,
            sources=dedupe_sources(self.sources),
        )

    async def _panel_then_judge(self) -> FusionResult:
        # Announce the whole panel first, so a listener can lay it out before any text.
        for i, m in enumerate(self.panel):
            self._emit(ev.PanelAdded(m, i))
        await self._await_panel()
        responses = [r for r in self.responses if r is not None]
        if not responses:
            reason = all_failed_reason(self.failed)
            detail = "; ".join(f"{f.model}: {f.error}" for f in self.failed)
            return self._error(reason, f"every panel model failed ({detail})")
        verdict = await self._judge(responses)
        self.judge_detail = verdict.detail
        return FusionResult(
            status="ok",
            analysis=verdict.analysis,
            responses=responses,
            failed_models=self.failed,
            failure_reason=verdict.failure_reason,
            sources=dedupe_sources(self.sources),
            search=None if self._searched or not wants_search(self.params) else "none",
        )

    async def _await_panel(self) -> None:
        """Every member, or as many as answer before `deadline_s`, or the first `quorum`
        to answer; the rest are cancelled (their upstream calls with them) and listed."""
        started = time.perf_counter()
        tasks = [asyncio.create_task(self._panelist(i, m)) for i, m in enumerate(self.panel)]
        pending = set(tasks)
        loop = asyncio.get_running_loop()
        deadline, quorum = self.params.deadline_s, self.params.quorum
        end = None if deadline is None else loop.time() + deadline
        why = ""
        # Without a quorum, one wait for them all: waking at each member's answer costs
        # the event loop a timer and a callback per member each time, for nothing.
        until = asyncio.ALL_COMPLETED if quorum is None else asyncio.FIRST_COMPLETED
        try:
            while pending:
                if quorum is not None and sum(r is not None for r in self.responses) >= quorum:
                    why = f"cancelled: a quorum of {quorum} had answered first"
                    break
                wait = None if end is None else max(0.0, end - loop.time())
                _, pending = await asyncio.wait(pending, timeout=wait, return_when=until)
                if end is not None and loop.time() >= end and pending:
                    why = f"timeout: no answer within the deadline of {deadline:g} s"
                    break
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for index, model_id in enumerate(self.panel):
            if self.responses[index] is None and self._failed[index] is None:
                self._fail(index, model_id, UpstreamError(why or "cancelled"), started)

    def _resolve(self, model_id: str) -> ChatModel:
        return self.runtime.router.resolve(model_id)

    def _research(self, model_id: str) -> Research:
        """`model_id`'s web tools; noted when it was asked to search and cannot."""
        research = for_member(self.runtime, self.params, model_id)
        if research.searches:
            self._searched = True
        return research

    async def _panelist(self, index: int, model_id: str) -> None:
        emit = self._emit
        t0 = time.perf_counter()
        body: dict[str, Any] = {"messages": panel_messages(self.question)}
        p = self.params
        if p.temperature is not None:
            body["temperature"] = p.temperature
        self._common(body)

        def heard(event: loop_ev.LoopEvent) -> None:
            if isinstance(event, loop_ev.TextDelta):
                emit(ev.PanelDelta(model_id, index, event.text))
            elif isinstance(event, loop_ev.ReasoningDelta):
                emit(ev.PanelReasoningDelta(model_id, index, event.text))
            elif isinstance(event, loop_ev.ToolStarted):
                emit(ev.PanelToolCall(model_id, index, event.name, event.arguments))

        mine = self.member_usage.setdefault(index, Usage())
        try:
            research = self._research(model_id)
            res = await run_tool_loop(
                self._resolve(model_id),
                with_plugins(body, research),
                research.tools,
                max_steps=p.max_tool_calls,
                headers=self.headers,
                emit=heard,
                stream=self._stream_text,
                usage=mine,
                budget=self.runtime.budget,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(index, model_id, exc, t0)
            return
        finally:
            # Whatever the member spent counts, however it ended (cancelled included).
            self.usage.merge(mine)
        self.sources.extend(res.sources)
        content = res.turn.content.strip()
        if not content:
            self._fail(
                index, model_id, UpstreamError("empty answer: the model returned no text"), t0
            )
            return
        self.responses[index] = PanelResponse(model=model_id, content=content)
        self.timings[f"panel:{index}"] = time.perf_counter() - t0
        emit(ev.PanelCompleted(model_id, index, content, time.perf_counter() - t0, mine))

    def _fail(self, index: int, model_id: str, exc: Exception, t0: float) -> None:
        status: int | None = None
        if isinstance(exc, UpstreamError):
            # The adapter prefixes the model id; failed_models names the model already.
            status, message = exc.status_code, exc.message.removeprefix(f"{model_id}: ")
        elif isinstance(exc, MissingKeyError):
            status, message = 401, str(exc)
        elif isinstance(exc, UnknownModelError):
            status, message = 404, str(exc)
        elif isinstance(exc, ParleyError):
            message = str(exc)
        else:
            message = f"unexpected error: {type(exc).__name__}: {exc}"
        # It goes to the outer model's provider and the log: no credential may ride along.
        message = self.runtime.redactor.text(message)
        self._failed[index] = FailedModel(model=model_id, error=message, status_code=status)
        self.timings[f"panel:{index}"] = time.perf_counter() - t0
        self._emit(ev.PanelFailed(model_id, index, message, status, time.perf_counter() - t0))

    def _common(self, body: dict[str, Any]) -> None:
        p = self.params
        if p.max_completion_tokens is not None:
            body["max_completion_tokens"] = p.max_completion_tokens
        if p.reasoning is not None:
            body["reasoning"] = p.reasoning.model_dump(exclude_none=True)

    async def _judge(self, responses: list[PanelResponse]) -> Verdict:
        self._emit(ev.AnalysisInProgress(self.judge))
        verdict = await self._judge_attempts(responses)
        self._emit(ev.AnalysisCompleted(verdict.analysis, verdict.failure_reason))
        return verdict

    async def _judge_attempts(self, responses: list[PanelResponse]) -> Verdict:
        body: dict[str, Any] = {
            "messages": judge_messages(question_text(self.question), responses),
            "temperature": C.JUDGE_TEMPERATURE,
            "response_format": RESPONSE_FORMAT,
        }
        self._common(body)
        try:
            model = self._resolve(self.judge)
            try:
                res = await self._judge_loop(model, body)
            except UpstreamError as exc:
                # Servers without structured outputs reject the schema; ask without it and
                # rely on validation and repair instead.
                if exc.status_code not in (400, 422) or not _rejects_schema(exc.message):
                    raise
                body.pop("response_format")
                res = await self._judge_loop(model, body)
            verdict = read_verdict(res.turn.content)
            for _ in range(C.JUDGE_REASK_ATTEMPTS):
                if verdict.analysis is not None:
                    break
                retry = {k: v for k, v in body.items() if k != "messages"}
                retry["messages"] = [*res.messages, reask_message(verdict)]
                turn = await run_turn(model, retry, self.headers)
                self.usage.add_upstream(turn.usage)
                verdict = read_verdict(turn.content)
            return verdict
        except asyncio.CancelledError:
            raise
        except ParleyError as exc:
            return Verdict(None, "judge_upstream_error", self.runtime.redactor.text(str(exc)))
        except Exception as exc:  # a judge's bug must not cost the panel's answers
            detail = self.runtime.redactor.text(f"{type(exc).__name__}: {exc}")
            return Verdict(None, "judge_upstream_error", detail)

    async def _judge_loop(self, model: ChatModel, body: dict[str, Any]) -> LoopResult:
        def heard(event: loop_ev.LoopEvent) -> None:
            if isinstance(event, loop_ev.ToolStarted):
                self._emit(ev.JudgeToolCall(self.judge, event.name, event.arguments))

        research = self._research(self.judge)
        res = await run_tool_loop(
            model,
            with_plugins(body, research),
            research.tools,
            max_steps=self.params.max_tool_calls,
            headers=self.headers,
            emit=heard,
            usage=self.usage,
            budget=self.runtime.budget,
        )
        self.sources.extend(res.sources)
        return res


def check_params(runtime: Runtime, params: FusionParams, where: str = "parameters") -> None:
    """Raise InvalidParameter (named under `where`) if these parameters cannot run here:
    no panel can be formed, or an inner tool cannot run (or may not run in a panel)."""
    panel = panel_for(runtime, params, where)
    specs = params.tools
    if specs is None or runtime.search is not None:
        runtime.server_tools(specs, field_name=f"{where}.tools", inner=True)
        return
    # OpenRouter searches for its own models (parley.fusion.research): web_search needs
    # no backend of ours for them, but its parameters are checked all the same.
    openrouter_only = all(runtime.router.serves_openrouter(m) for m in panel)
    for i, spec in enumerate(specs):
        at = f"{where}.tools[{i}]"
        if openrouter_only and spec.name == C.WEB_SEARCH_TOOL:
            check_search_parameters(spec.parameters, f"{at}.parameters")
        else:
            runtime.tools.build_one(spec, runtime, where=at, inner=True)


def _ignore(event: ev.FusionEvent) -> None:
    return None
