"""The MCP server: the tools, the resources, and who owns a handle.

Built on the official SDK's `MCPServer`; import it only after `sdk.require()` so a
missing extra is a clear error rather than an ImportError.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import Field

from parley import _constants as C
from parley.config import Settings
from parley.errors import ParleyError
from parley.mcp import run as mrun
from parley.mcp.handles import Handles, UnknownDeliberation
from parley.mcp.notify import Reporter
from parley.mcp.output import DeliberationOutput
from parley.mcp.progress import Progress, Step
from parley.mcp.status import status
from parley.runtime import Setup
from parley.store import LogStore

LONG_POLL_MAX_S = 40.0  # inside a host's 60 s tool limit, with room for the reply

INSTRUCTIONS = (
    "Parley asks a panel of models in parallel, has a judge map where they agree and "
    "disagree, and writes a short synthesis. Use `deliberate` for a second opinion that "
    "fits one tool call; `deliberation_start` and `deliberation_result` for slow panels."
)

Question = Annotated[str, Field(description="the question, with the context it needs")]
Preset = Annotated[str | None, Field(description="a named panel (see parley_status)")]
Models = Annotated[
    list[str] | None,
    Field(description="panel model ids instead of a preset (1-8)", max_length=C.PANEL_MAX),
]
Judge = Annotated[str | None, Field(description="the judge model id")]
Web = Annotated[bool, Field(description="let the panel search and read the web")]
MaxToolCalls = Annotated[int | None, Field(description="tool calls per member (1-16)")]
Deadline = Annotated[
    float | None,
    Field(description="seconds the panel may take (default from the config, 50)", gt=0),
]
Detail = Annotated[
    mrun.Detail, Field(description="summary: analysis and synthesis; full: every answer too")
]


def owner_of(ctx: Context[Any, Any]) -> str:
    """Who may read a handle: the API key's digest over HTTP, the one local user on stdio.
    The gateway's middleware has already checked the key, so it is an identity here."""
    headers = ctx.headers or {}
    token = headers.get("authorization", "") or headers.get("x-api-key", "")
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


AskThen = Callable[[mrun.Ask, Context[Any, Any]], Awaitable[Any]]


def ask_tool(then: AskThen, returns: object) -> Callable[..., Awaitable[Any]]:
    """A tool taking the deliberation arguments, handed to `then` as an Ask: `deliberate`
    and `deliberation_start` share one input schema. `returns` is the output's type, which
    the SDK reads from the annotation to publish the output schema."""

    async def tool(
        question: Question,
        ctx: Context[Any, Any],
        preset: Preset = None,
        models: Models = None,
        judge: Judge = None,
        web: Web = True,
        max_tool_calls: MaxToolCalls = None,
        deadline_s: Deadline = None,
        detail: Detail = "summary",
    ) -> Any:
        ask = mrun.Ask(question, preset, models, judge, web, max_tool_calls, deadline_s, detail)
        return await then(ask, ctx)

    tool.__annotations__ = {**tool.__annotations__, "return": returns}
    return tool


def build_server(
    settings: Settings, store: LogStore | None, setup: Setup | None = None
) -> MCPServer[Any]:
    """The MCP server over `settings`, logging to `store` (None: no log); `setup` adds
    the models, search and fetcher an embedder (the gateway, a test) injected."""
    server: MCPServer[Any] = MCPServer(
        "parley",
        version=importlib.metadata.version("parley-llm"),
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    handles = Handles()

    async def _run(ask: mrun.Ask, deliberation_id: str, reporter: Reporter) -> DeliberationOutput:
        try:
            async with reporter.running():
                return await mrun.deliberate(settings, store, ask, deliberation_id, reporter, setup)
        except ParleyError as exc:  # a bad argument or setup: the message names the fix
            raise ToolError(str(exc)) from exc

    def _summary(out: DeliberationOutput, ask: mrun.Ask) -> DeliberationOutput:
        return out if ask.detail == "full" else out.model_copy(update={"responses": None})

    async def deliberate(ask: mrun.Ask, ctx: Context[Any, Any]) -> DeliberationOutput:
        async def send(step: Step) -> None:
            await ctx.report_progress(step.done, step.total, step.message)

        out = await _run(ask, mrun.new_deliberation_id(), Reporter(send, Progress()))
        handles.finished(out, owner_of(ctx))
        return _summary(out, ask)

    async def start(ask: mrun.Ask, ctx: Context[Any, Any]) -> dict[str, Any]:
        try:
            ask.check(settings)
        except ParleyError as exc:
            raise ToolError(str(exc)) from exc
        deliberation_id = mrun.new_deliberation_id()
        progress = Progress()

        async def quiet(step: Step) -> None:
            return None  # a handle is polled; nobody is listening for notifications

        async def background() -> DeliberationOutput:
            return await _run(ask, deliberation_id, Reporter(quiet, progress))

        full = ask.detail == "full"
        handles.start(deliberation_id, owner_of(ctx), progress, background(), full=full)
        deadline = ask.deadline_s or settings.mcp_deadline_s
        return {
            "deliberation_id": deliberation_id,
            "estimate_s": round(deadline + 10, 1),  # the panel's deadline, then the judge
        }

    server.add_tool(
        ask_tool(deliberate, DeliberationOutput),
        name="deliberate",
        description="Ask a panel of models in parallel and get a map of where they agree "
        "and disagree plus a short synthesis, within a deadline (default 50 s). Check "
        "`status` first: `degraded` means some members are missing (see failed_models).",
    )
    server.add_tool(
        ask_tool(start, dict[str, Any]),
        name="deliberation_start",
        description="Start a deliberation that may take longer than one tool call; "
        "returns a deliberation_id to pass to deliberation_result.",
    )

    @server.tool(
        description="The result of a started deliberation, waiting up to wait_s seconds "
        "(at most 40); while it runs, a progress snapshot with status `running`."
    )
    async def deliberation_result(
        deliberation_id: str,
        ctx: Context[Any, Any],
        wait_s: Annotated[float, Field(ge=0, le=LONG_POLL_MAX_S)] = 20.0,
    ) -> dict[str, Any]:
        try:
            return await handles.wait(deliberation_id, owner_of(ctx), wait_s)
        except UnknownDeliberation as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(description="Cancel a started deliberation.")
    async def deliberation_cancel(deliberation_id: str, ctx: Context[Any, Any]) -> dict[str, Any]:
        try:
            cancelled = handles.cancel(deliberation_id, owner_of(ctx))
        except UnknownDeliberation as exc:
            raise ToolError(str(exc)) from exc
        return {"deliberation_id": deliberation_id, "cancelled": cancelled}

    @server.tool(
        description="Which providers have keys, which presets exist, whether the offline "
        "models are installed, and how long deliberations typically take."
    )
    async def parley_status() -> dict[str, Any]:
        return status(settings, store)

    @server.resource(
        "parley://deliberations/{deliberation_id}",
        mime_type="application/json",
        description="A finished deliberation: the analysis and every member's full answer.",
    )
    async def deliberation_resource(deliberation_id: str, ctx: Context[Any, Any]) -> str:
        out = _finished(deliberation_id, ctx)
        return json.dumps(out.model_dump(mode="json", exclude_none=True))

    @server.resource(
        "parley://deliberations/{deliberation_id}/responses/{index}",
        mime_type="text/plain",
        description="One member's full answer (0-based, in panel order of those answering).",
    )
    async def member_resource(deliberation_id: str, index: str, ctx: Context[Any, Any]) -> str:
        responses = _finished(deliberation_id, ctx).responses or []
        if not index.isdigit() or int(index) >= len(responses):
            raise ResourceNotFoundError(f"index: no answer {index!r} of {len(responses)}")
        return responses[int(index)].content

    def _finished(deliberation_id: str, ctx: Context[Any, Any]) -> DeliberationOutput:
        try:
            h = handles.get(deliberation_id, owner_of(ctx))
        except UnknownDeliberation as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        if h.output is None:
            raise ResourceNotFoundError(f"deliberation {deliberation_id!r} has not finished")
        return h.output

    return server
