"""Planning a request: resolve the model (an alias?), the plugins and the server tools, and
check everything that can be checked before any upstream call.

Server tools are looked up in the registry; how each behaves in a turn (may it run in a
panel, once per turn, forced by "required") is what its kind declares, so nothing here
names a tool. Fusion's other ways in (the alias and the plugin) are resolved by
`parley.fusion.ways_in`, and what they imply merges under an explicit fusion tool's
parameters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from parley import _constants as C
from parley.engine.request import Request
from parley.errors import InvalidParameter
from parley.fusion import ways_in
from parley.fusion.tool import KIND as FUSION
from parley.models.base import last_user_text
from parley.runtime import Runtime
from parley.tools.base import ServerToolSpec
from parley.tools.loop import StopWhen
from parley.tools.registry import RequestFacts, ServerToolKind, is_server_tool_type
from parley.validation import parse_or_raise


@dataclass
class ServerToolUse:
    """A server tool the request offers: its kind, its spec, where it sits in the request,
    and where its parameters do (a plugin's are its own fields)."""

    kind: ServerToolKind
    spec: ServerToolSpec
    where: str
    parameters_at: str


@dataclass
class Plan:
    """What a request asks for, resolved and validated before any upstream call."""

    request: Request
    outer_model: str
    server_tools: list[ServerToolUse]
    client_tools: list[dict[str, Any]]
    first_tool_choice: str | dict[str, Any] | None
    tool_choice: str | dict[str, Any] | None
    max_steps: int
    stop_when: StopWhen | None
    depth: int
    # The outer model's request fields: the client's own (sampling, unknown ones) and
    # the conversation.
    body: dict[str, Any]
    # One id for everything this run produces (responses, chunks, events, the log).
    id: str = field(default_factory=lambda: f"gen-parley-{uuid.uuid4().hex[:24]}")

    @property
    def passthrough(self) -> bool:
        """No server tool involved: the request can go upstream untouched."""
        return not self.server_tools

    def facts(self, emit: Any = None, *, stream_panel: bool = False) -> RequestFacts:
        """What the request's tools are told about it."""
        return RequestFacts(
            outer_model=self.outer_model,
            depth=self.depth,
            emit=emit,
            stream_panel=stream_panel,
            last_user_text=last_user_text(self.request.messages),
        )

    def uses(self, name: str) -> bool:
        return any(t.kind.name == name for t in self.server_tools)


def plan(request: Request, runtime: Runtime, *, depth: int = 0) -> Plan:
    """Validate a request and decide how to run it; InvalidParameter names the field."""
    settings = runtime.settings
    model = request.model or settings.model
    if not model:
        raise InvalidParameter("model", "required; name a model or set `model` in the config")
    implied = ways_in.resolve(model, request.plugins, settings)
    uses: list[ServerToolUse] = []
    client_tools: list[dict[str, Any]] = []
    client_at: list[int] = []  # where each sits in `tools`, for the field's name
    for i, tool in enumerate(request.tools):
        if not isinstance(tool, dict):
            raise InvalidParameter(f"tools[{i}]", "must be an object")
        if not is_server_tool_type(str(tool.get("type", ""))):
            client_tools.append(tool)
            client_at.append(i)
            continue
        spec = parse_or_raise(ServerToolSpec, tool, f"tools[{i}]")
        kind = runtime.tools.kind(spec, f"tools[{i}]")
        uses.append(ServerToolUse(kind, spec, f"tools[{i}]", f"tools[{i}].parameters"))
    uses = _with_implied(uses, implied)
    if uses:  # Parley runs the tool loop, so it reads the client's function tools itself
        for i, tool in zip(client_at, client_tools, strict=True):
            if tool.get("type") == "function":
                _check_function(tool.get("function"), f"tools[{i}].function")
    if depth >= 1:
        # One level of deliberation, whatever the client sends: a tool that may not run
        # inside a panel is not offered to a request that comes from one.
        uses = [u for u in uses if u.kind.inner]
    facts = RequestFacts(outer_model=implied.outer_model, depth=depth)
    for u in uses:
        _check(runtime, u, facts)
    from_user = request.messages[-1].get("role") == "user"
    first_choice, choice = _tool_choice(
        request.tool_choice, uses, _function_names(client_tools), runtime, from_user
    )
    body = dict(request.body)
    body["messages"] = request.messages
    stop = StopWhen(request.stop_server_tools_when) if request.stop_server_tools_when else None
    max_steps = request.max_tool_calls or C.OUTER_MAX_TOOL_CALLS_DEFAULT
    if stop:
        # "When set, this overrides `max_tool_calls`" (OpenRouter's StopServerToolsWhen):
        # the conditions decide, under the runaway bound only.
        max_steps = C.OUTER_MAX_TOOL_CALLS_MAX
    return Plan(
        request,
        implied.outer_model,
        uses,
        client_tools,
        first_choice,
        choice,
        max_steps,
        stop,
        depth,
        body,
    )


def _with_implied(uses: list[ServerToolUse], implied: ways_in.Implied) -> list[ServerToolUse]:
    """The request's server tools with what the alias and plugins imply: fusion's
    parameters under an explicit fusion tool's, or fusion added; or fusion withheld."""
    if implied.withheld:
        return [u for u in uses if u.kind is not FUSION]
    if implied.parameters is None:
        return uses
    explicit = next((u for u in uses if u.kind is FUSION), None)
    if explicit is None:
        spec = ServerToolSpec(type=C.FUSION_TOOL, parameters=implied.parameters)
        return [*uses, ServerToolUse(FUSION, spec, implied.where, implied.where)]
    merged = {**implied.parameters, **explicit.spec.parameters}
    explicit.spec = ServerToolSpec(type=explicit.spec.type, parameters=merged)
    return uses


def _check(runtime: Runtime, use: ServerToolUse, facts: RequestFacts) -> None:
    """Build the tool once, so that a bad one is a 400 naming its field before anything
    streams (the run builds fresh ones: their counters are per request)."""
    runtime.tools.build_one(
        use.spec, runtime, where=use.where, parameters_at=use.parameters_at, request=facts
    )


def _force(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _check_function(fn: Any, field: str) -> None:
    example = '{"name": "get_weather", "parameters": {"type": "object", ...}}'
    if not isinstance(fn, dict):
        raise InvalidParameter(field, f"must be an object, e.g. {example}")
    if not isinstance(fn.get("name"), str) or not fn["name"].strip():
        raise InvalidParameter(f"{field}.name", "must be a non-empty string")
    if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
        raise InvalidParameter(f"{field}.parameters", "must be a JSON Schema object")


def _function_names(client_tools: list[dict[str, Any]]) -> set[str]:
    names = set()
    for t in client_tools:
        fn = t.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.add(fn["name"])
    return names


def _tool_choice(
    choice: str | dict[str, Any] | None,
    uses: list[ServerToolUse],
    client_names: set[str],
    runtime: Runtime,
    from_user: bool,
) -> tuple[str | dict[str, Any] | None, str | dict[str, Any] | None]:
    """(choice for the first turn, choice for later turns).

    Forcing applies to the first turn only: forcing every turn would call the tool again
    and again, a known bug in the field.
    """
    offered = {u.kind.name for u in uses}
    if isinstance(choice, dict) and is_server_tool_type(str(choice.get("type", ""))):
        name = str(choice["type"]).split(":", 1)[1]
        if name not in offered:
            return None, None  # withheld (depth, `enabled: false`): do not force it
        return _force(name), "auto"
    if choice == "required":
        forced = next((u.kind.name for u in uses if u.kind.forced_by_required), None)
        if forced is None:
            return "required", "auto"
        # `required` with such a tool means "use it on the user's question". A client-tool
        # round trip (last message `role: tool`) repeats the request's fields, but that
        # question was handled in the request that asked it: forcing again would run the
        # tool once per round trip.
        return (_force(forced), "auto") if from_user else ("auto", "auto")
    named = names_server_tool(choice, runtime)
    if named is not None and named not in client_names:
        # The plain OpenAI spelling of forcing a server tool: once, like the typed form.
        return (choice, "auto") if named in offered else (None, None)
    return choice, choice


def names_server_tool(choice: Any, runtime: Runtime) -> str | None:
    """The registered server tool a tool_choice forces in the plain OpenAI spelling
    (`{"type": "function", "function": {"name": "fusion"}}`), or None."""
    fn = choice.get("function") if isinstance(choice, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    return name if isinstance(name, str) and runtime.tools.get(name) is not None else None
