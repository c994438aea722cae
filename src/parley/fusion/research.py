"""How each member of a deliberation searches the web, by default as OpenRouter's do
("each runs in parallel with web_search and web_fetch enabled").

A search backend the user configured always wins: every member gets Parley's web_search
over it. Otherwise a member served by OpenRouter searches with OpenRouter's own web search
(the `web` plugin rides on its request; the pages it cites come back as `url_citation`
annotations and go into `sources`), and any other member gets Parley's web_search over the
keyless metasearch backend, when it is installed. When no member can search although
searching was asked for, the result says so (`search: "none"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley.fusion.params import FusionParams
from parley.runtime import Runtime
from parley.tools.base import ServerTool, ServerToolSpec

# OpenRouter's web plugin: the provider searches for the model, and cites what it read.
OPENROUTER_WEB = {"id": "web"}


@dataclass
class Research:
    """One member's tools, and what rides on its request (OpenRouter's web plugin)."""

    tools: list[ServerTool]
    plugins: list[dict[str, Any]]
    searches: bool


def wants_search(params: FusionParams) -> bool:
    """Whether the parameters ask for web search (by default they do)."""
    if params.tools is None:
        return True
    return any(spec.name == C.WEB_SEARCH_TOOL for spec in params.tools)


def for_member(runtime: Runtime, params: FusionParams, model_id: str) -> Research:
    """The tools `model_id` gets, and whether it can search at all."""
    upstream = (
        wants_search(params)
        and runtime.search is None
        and runtime.router.serves_openrouter(model_id)
    )
    if not upstream:
        tools = runtime.server_tools(params.tools)
        searches = any(t.name == C.WEB_SEARCH_TOOL for t in tools)
        return Research(tools, [], searches)
    specs = (
        [ServerToolSpec(type=n) for n in C.INNER_DEFAULT_TOOLS]
        if params.tools is None
        else list(params.tools)
    )
    rest = [s for s in specs if s.name != C.WEB_SEARCH_TOOL]
    tools = (
        runtime.server_tools(rest, inner=True)
        if params.tools is not None
        else _defaults(runtime, rest)
    )
    return Research(tools, [_web_plugin(specs)], True)


def _web_plugin(specs: list[ServerToolSpec]) -> dict[str, Any]:
    """OpenRouter's web plugin, with the one web_search parameter it takes as its own:
    `max_results` (checked already, 1-25: see `check_params`)."""
    plugin = dict(OPENROUTER_WEB)
    for spec in specs:
        if spec.name == C.WEB_SEARCH_TOOL and "max_results" in (spec.parameters or {}):
            plugin["max_results"] = (spec.parameters or {})["max_results"]
    return plugin


def _defaults(runtime: Runtime, specs: list[ServerToolSpec]) -> list[ServerTool]:
    # The inner defaults are left out where they cannot run (web_fetch turned off).
    return runtime.tools.build(
        specs, runtime, field_name="parameters.tools", inner=True, by_default=True
    )


def with_plugins(body: dict[str, Any], research: Research) -> dict[str, Any]:
    """`body` with the member's plugins added to any it carries already."""
    if not research.plugins:
        return body
    return {**body, "plugins": [*body.get("plugins", []), *research.plugins]}
