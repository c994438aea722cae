"""What goes upstream when a plan involves no server tool at all."""

from __future__ import annotations

from typing import Any

from parley import _constants as C
from parley.engine.plan import Plan, names_fusion

# Parley's own fields, consumed here and never sent upstream on the lean path.
_CONSUMED = ("max_tool_calls", "stop_server_tools_when")


def passthrough_body(raw: dict[str, Any], p: Plan) -> dict[str, Any]:
    """The client's body for a passthrough plan: untouched but for what Parley consumed.

    Only the model id (an alias resolves to a concrete model) and Parley's own steering
    fields change; everything else, unknown fields included, goes upstream as sent. When
    nothing needs to change, `raw` itself is returned (not a copy), so a caller holding the
    bytes `raw` was parsed from can send those instead of encoding it again.
    """
    if _as_sent(raw, p):
        return raw
    body = dict(raw)
    body["model"] = p.outer_model
    for name in _CONSUMED:
        body.pop(name, None)
    plugins = body.get("plugins")
    if isinstance(plugins, list):
        kept = [x for x in plugins if not _is_fusion_plugin(x)]
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
    elif "tools" not in body and (choice == "required" or names_fusion(choice)):
        # Fusion was withheld (depth, `enabled: false`) from a request that forced it:
        # upstreams reject a forcing tool_choice with no tools to choose from.
        del body["tool_choice"]
    return body


def _as_sent(raw: dict[str, Any], p: Plan) -> bool:
    """Nothing to rewrite: the common case (a concrete model, no Parley field), checked
    without copying anything."""
    if raw.get("model") != p.outer_model or any(name in raw for name in _CONSUMED):
        return False
    plugins = raw.get("plugins")
    # An empty list goes too: what remains of it is nothing, and a server that knows no
    # `plugins` field rejects even an empty one.
    if isinstance(plugins, list) and (not plugins or any(_is_fusion_plugin(x) for x in plugins)):
        return False
    choice = raw.get("tool_choice")
    if isinstance(choice, dict) and str(choice.get("type", "")).startswith(C.TOOL_PREFIXES):
        return False
    if "tools" not in raw:
        return not (choice == "required" or names_fusion(choice))
    # A passthrough plan's client tools are the request's tools minus the server ones:
    # the same number, and not zero, means none was dropped.
    tools = raw["tools"]
    return isinstance(tools, list) and len(tools) == len(p.client_tools) > 0


def _is_fusion_plugin(x: Any) -> bool:
    return isinstance(x, dict) and x.get("id") == C.FUSION_TOOL
