"""Planning a Chat Completions request: resolve the alias, the `fusion` plugin and the
tools, and check everything that can be checked before any upstream call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley.errors import InvalidParameter
from parley.fusion.params import FusionParams
from parley.fusion.run import check_params
from parley.runtime import Runtime
from parley.tools.base import ServerToolSpec
from parley.tools.loop import StopWhen
from parley.validation import parse_or_raise
from parley.wire.chat import ChatRequest

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
    # `enabled: false` turns fusion off for this request (contract section 1), whichever
    # way it was asked for: the alias, another plugin entry or the fusion tool itself.
    disabled = False
    via_alias = model in ALIASES
    if via_alias:
        preset_name = ALIASES[model] or settings.preset
        fusion_raw = _preset_params(runtime, preset_name, "model")
        model = settings.outer_model_for(preset_name)
    for i, plugin in enumerate(req.plugins or []):
        if not isinstance(plugin, dict) or plugin.get("id") != C.FUSION_TOOL:
            continue
        where = f"plugins[{i}]"
        unknown = set(plugin) - PLUGIN_FIELDS
        if unknown:
            raise InvalidParameter(f"{where}.{sorted(unknown)[0]}", "unknown fusion plugin field")
        if plugin.get("enabled", True) is False:
            disabled = True
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
        if via_alias:
            # With the alias the plugin chooses the outer model too: its `model` does the
            # analysis and the final synthesis (OpenRouter's FusionPlugin.model), else its
            # preset's outer model.
            if plugin.get("model"):
                model = str(plugin["model"])
            elif plugin.get("preset"):
                model = settings.outer_model_for(str(plugin["preset"]))
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
    if disabled or depth >= 1:
        fusion_raw = None  # depth: one level of deliberation, whatever the client sends
    fusion: FusionParams | None = None
    if fusion_raw is not None:
        fusion = FusionParams.parse(fusion_raw, fusion_where)
        # Once per request, here, so that it is a 400 before anything streams.
        check_params(runtime, fusion, fusion_where)
    from_user = req.messages[-1].get("role") == "user"
    first_choice, choice = _tool_choice(req.tool_choice, fusion is not None, from_user)
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
    choice: str | dict[str, Any] | None, has_fusion: bool, from_user: bool
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
        if not has_fusion:
            return "required", "auto"
        # `required` with fusion means "deliberate on the user's question". A client-tool
        # round trip (last message `role: tool`) repeats the request's fields, but that
        # question was deliberated in the request that asked it: forcing again would run
        # fusion once per round trip.
        return (force(C.FUSION_TOOL), "auto") if from_user else ("auto", "auto")
    if names_fusion(choice):
        # The plain OpenAI spelling of forcing fusion: once, like the server-tool form.
        return (choice, "auto") if has_fusion else (None, None)
    return choice, choice


def names_fusion(choice: Any) -> bool:
    """Whether a tool_choice forces fusion in the plain OpenAI spelling."""
    fn = choice.get("function") if isinstance(choice, dict) else None
    return isinstance(fn, dict) and fn.get("name") == C.FUSION_TOOL
