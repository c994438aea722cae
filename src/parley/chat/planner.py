"""One Chat Completions request end to end: resolve alias, plugin and tools, run the outer
model's tool loop (fusion included), and build the response with usage summed over every call.

The gateway and the CLI both call `plan()` then `run()`; only how they render differs.
`stream()` is `run()` as an async iterator (text deltas, tool starts, fusion events, then
the outcome), for the gateway's SSE; `passthrough_body()` is what goes upstream when a plan
involves no server tool at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from parley import _constants as C
from parley.errors import InvalidParameter
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.fusion.tool import FusionTool
from parley.models.base import last_user_text
from parley.runtime import Runtime
from parley.tools.base import ServerTool
from parley.tools.loop import LoopHooks, LoopResult, StopWhen, run_tool_loop
from parley.usage import Usage
from parley.wire import ChatRequest, FusionParams, ServerToolSpec, parse_or_raise

ALIASES = {
    C.FUSION_ALIAS: None,
    C.PARLEY_FUSION_ALIAS: None,
    C.FUSION_FLASH_ALIAS: C.FLASH_PRESET,
    C.PARLEY_FUSION_FLASH_ALIAS: C.FLASH_PRESET,
}
# Fields that steer Parley itself and must not reach the upstream.
OWN_FIELDS = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "plugins",
    "max_tool_calls",
    "stop_server_tools_when",
}
PLUGIN_FIELDS = {
    "id",
    "enabled",
    "preset",
    "analysis_models",
    "models",
    "model",
    "max_tool_calls",
    "tools",
    "max_completion_tokens",
    "reasoning",
    "temperature",
    "cache_control",
}


def is_server_tool(tool: dict[str, Any]) -> bool:
    t = str(tool.get("type", ""))
    return any(t.startswith(p) for p in C.TOOL_PREFIXES)


@dataclass
class Plan:
    """What a request asks for, resolved and validated before any upstream call."""

    request: ChatRequest
    outer_model: str
    fusion: FusionParams | None
    server_specs: list[ServerToolSpec]
    client_tools: list[dict[str, Any]]
    first_tool_choice: str | dict[str, Any] | None
    tool_choice: str | dict[str, Any] | None
    max_steps: int
    stop_when: StopWhen | None
    depth: int
    body: dict[str, Any]

    @property
    def passthrough(self) -> bool:
        """No server tool involved: the request can go upstream untouched."""
        return self.fusion is None and not self.server_specs


def _preset_params(runtime: Runtime, name: str, where: str) -> dict[str, Any]:
    presets = runtime.settings.presets
    if name not in presets:
        raise InvalidParameter(where, f"unknown preset {name!r}; known: {', '.join(presets)}")
    p = presets[name]
    out: dict[str, Any] = {"analysis_models": list(p.analysis_models)}
    if p.model:
        out["model"] = p.model
    return out


def plan(raw: dict[str, Any], runtime: Runtime, *, depth: int = 0) -> Plan:
    """Validate a request and decide how to run it; raises InvalidParameter naming the field."""
    req = parse_or_raise(ChatRequest, raw, "")
    settings = runtime.settings
    model = req.model or settings.model
    if not model:
        raise InvalidParameter("model", "required; name a model or set `model` in the config")
    fusion_raw: dict[str, Any] | None = None
    fusion_where = "model"
    if model in ALIASES:
        preset_name = ALIASES[model] or settings.preset
        fusion_raw = _preset_params(runtime, preset_name, "model")
        preset = settings.presets[preset_name]
        model = preset.outer or settings.model or preset.model or preset.analysis_models[0]
    for i, plugin in enumerate(req.plugins or []):
        if not isinstance(plugin, dict) or plugin.get("id") != C.FUSION_TOOL:
            continue
        where = f"plugins[{i}]"
        unknown = set(plugin) - PLUGIN_FIELDS
        if unknown:
            raise InvalidParameter(f"{where}.{sorted(unknown)[0]}", "unknown fusion plugin field")
        if plugin.get("enabled", True) is False:
            fusion_raw = None
            continue
        merged = dict(fusion_raw or {})
        if plugin.get("preset"):
            merged.update(_preset_params(runtime, str(plugin["preset"]), f"{where}.preset"))
        merged.update(
            {
                k: v
                for k, v in plugin.items()
                if k not in ("id", "enabled", "preset") and v is not None
            }
        )
        fusion_raw, fusion_where = merged, where
    server_specs: list[ServerToolSpec] = []
    client_tools: list[dict[str, Any]] = []
    for i, tool in enumerate(req.tools or []):
        if not isinstance(tool, dict):
            raise InvalidParameter(f"tools[{i}]", "must be an object")
        if not is_server_tool(tool):
            client_tools.append(tool)
            continue
        spec = parse_or_raise(ServerToolSpec, tool, f"tools[{i}]")
        if spec.name == C.FUSION_TOOL:
            fusion_raw = {**(fusion_raw or {}), **spec.parameters}
            fusion_where = f"tools[{i}].parameters"
        else:
            server_specs.append(spec)
            _check_server_tool(runtime, spec, f"tools[{i}]")
    if depth >= 1:
        fusion_raw = None  # one level of deliberation, whatever the client sends
    fusion = FusionParams.parse(fusion_raw, fusion_where) if fusion_raw is not None else None
    first_choice, choice = _tool_choice(req.tool_choice, fusion is not None)
    body = {k: v for k, v in raw.items() if k not in OWN_FIELDS}
    body["messages"] = req.messages
    stop = StopWhen(req.stop_server_tools_when) if req.stop_server_tools_when else None
    max_steps = req.max_tool_calls or C.OUTER_MAX_TOOL_CALLS_DEFAULT
    if stop and not req.max_tool_calls:
        max_steps = C.OUTER_MAX_TOOL_CALLS_MAX  # the conditions take over, as OpenRouter's do
    return Plan(
        req,
        model,
        fusion,
        server_specs,
        client_tools,
        first_choice,
        choice,
        max_steps,
        stop,
        depth,
        body,
    )


def _check_server_tool(runtime: Runtime, spec: ServerToolSpec, where: str) -> None:
    """Build the tool once so that a bad one is a 400 naming `where`, before any call."""
    try:
        runtime.server_tools([spec], field_name="tools")
    except InvalidParameter as exc:
        # The runtime numbers the one-element list it was given; renumber to the request's.
        field = where + exc.field.removeprefix("tools[0]")
        raise InvalidParameter(field, str(exc).removeprefix(f"{exc.field}: ")) from None


def _tool_choice(
    choice: str | dict[str, Any] | None, has_fusion: bool
) -> tuple[str | dict[str, Any] | None, str | dict[str, Any] | None]:
    """(choice for the first turn, choice for later turns).

    Forcing applies to the first turn only: forcing every turn would call fusion again and
    again, a known bug in the field.
    """

    def force(name: str) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name}}

    if isinstance(choice, dict) and any(
        str(choice.get("type", "")).startswith(p) for p in C.TOOL_PREFIXES
    ):
        name = str(choice["type"]).split(":", 1)[1]
        if name == C.FUSION_TOOL and not has_fusion:
            return None, None  # fusion was withheld (depth, enabled: false): do not force it
        return force(name), "auto"
    if choice == "required":
        return (force(C.FUSION_TOOL) if has_fusion else "required"), "auto"
    if _names_fusion(choice):
        # The plain OpenAI spelling of forcing fusion: once, like the server-tool form.
        return (choice, "auto") if has_fusion else (None, None)
    return choice, choice


@dataclass
class ChatOutcome:
    response: dict[str, Any]
    usage: Usage
    loop: LoopResult
    deliberations: list[Deliberation] = field(default_factory=list)
    seconds: float = 0.0


async def run(
    p: Plan,
    runtime: Runtime,
    *,
    on_text: Callable[[str], None] | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    on_tool: Callable[[str, dict[str, Any]], None] | None = None,
) -> ChatOutcome:
    """Run a planned request to its final answer."""
    started = time.perf_counter()
    runtime = runtime.for_request()
    tools: list[ServerTool] = runtime.server_tools(p.server_specs) if p.server_specs else []
    fusion_tool: FusionTool | None = None
    if p.fusion is not None:
        fusion_tool = FusionTool(
            runtime,
            p.fusion,
            outer_model=p.outer_model,
            depth=p.depth,
            on_event=on_event,
            fallback_question=last_user_text(p.request.messages),
        )
        tools.append(fusion_tool)
    headers = {C.DEPTH_HEADER: str(p.depth)} if p.depth else {}
    usage = Usage()
    result = await run_tool_loop(
        runtime.router.resolve(p.outer_model),
        p.body,
        tools,
        max_steps=p.max_steps,
        headers=headers,
        hooks=LoopHooks(on_text=on_text, on_tool=on_tool),
        client_tools=p.client_tools,
        first_tool_choice=p.first_tool_choice,
        tool_choice=p.tool_choice,
        stop_when=p.stop_when,
        retire_after_use=frozenset({C.FUSION_TOOL}),
        usage=usage,
    )
    turn = result.turn
    finish = "tool_calls" if result.client_tool_calls else (turn.finish_reason or "stop")
    response = {
        "id": f"gen-parley-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": p.outer_model,
        "choices": [{"index": 0, "message": turn.message(), "finish_reason": finish}],
        "usage": usage.to_wire(),
    }
    return ChatOutcome(
        response,
        usage,
        result,
        fusion_tool.deliberations if fusion_tool else [],
        time.perf_counter() - started,
    )


def passthrough_body(raw: dict[str, Any], p: Plan) -> dict[str, Any]:
    """The client's body for a passthrough plan: untouched but for what Parley consumed.

    Only the model id (an alias resolves to a concrete model) and Parley's own steering
    fields change; everything else, unknown fields included, goes upstream as sent. The
    common case (no tools, no plugins) costs one shallow copy.
    """
    body = dict(raw)
    body["model"] = p.outer_model
    body.pop("max_tool_calls", None)
    body.pop("stop_server_tools_when", None)
    plugins = body.get("plugins")
    if isinstance(plugins, list):
        kept = [x for x in plugins if not (isinstance(x, dict) and x.get("id") == C.FUSION_TOOL)]
        if kept:
            body["plugins"] = kept
        else:
            del body["plugins"]
    if "tools" in body:
        if p.client_tools:
            body["tools"] = p.client_tools
        else:
            del body["tools"]
            body.pop("tool_choice", None)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and str(choice.get("type", "")).startswith(C.TOOL_PREFIXES):
        del body["tool_choice"]  # it named a server tool that was withheld
    elif "tools" not in body and (choice == "required" or _names_fusion(choice)):
        # Fusion was withheld (depth, `enabled: false`) from a request that forced it:
        # upstreams reject a forcing tool_choice with no tools to choose from.
        del body["tool_choice"]
    return body


def _names_fusion(choice: Any) -> bool:
    fn = choice.get("function") if isinstance(choice, dict) else None
    return isinstance(fn, dict) and fn.get("name") == C.FUSION_TOOL


@dataclass(frozen=True)
class ToolStarted:
    """The outer model called a server tool; it is running now."""

    name: str
    arguments: dict[str, Any]


StreamItem = str | ToolStarted | ev.Event | ChatOutcome
_END = object()


async def stream(
    p: Plan, runtime: Runtime, *, events: bool = False
) -> AsyncGenerator[StreamItem, None]:
    """Run a planned request, yielding the answer's text deltas (`str`), server tools as
    they start, fusion progress events (with `events`), and last the finished ChatOutcome.

    Closing the iterator early cancels the run and every upstream call it started.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(
        run(
            p,
            runtime,
            on_text=queue.put_nowait,
            # Without listeners the panel runs unstreamed, which costs less.
            on_event=queue.put_nowait if events else None,
            on_tool=lambda name, args: queue.put_nowait(ToolStarted(name, args)),
        )
    )
    task.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            yield item
        yield task.result()  # re-raises what the run raised
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
