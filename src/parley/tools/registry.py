"""The server-tool registry: a name maps to a factory, and to how the tool behaves in a turn.

    from parley.tools.registry import REGISTRY, ServerToolKind

    REGISTRY.register(ServerToolKind("dice", lambda ctx: Dice(ctx.parameters)))

Then `tools: [{"type": "parley:dice"}]` (or `openrouter:dice`) offers it to a request's
model, and it can run inside the panel too (`parameters.tools` of fusion) unless it says
otherwise. `web_search`, `web_fetch`, `datetime` and `fusion` register the same way.

What a kind declares, so that no part of the engine needs to know a tool by name:
- `inner`: it may be offered to panelists and the judge (fusion may not: one level deep);
- `once_per_turn`: withdrawn from the model once called in a turn (fusion);
- `forced_by_required`: `tool_choice: "required"` on a request that offers it means this
  tool, once, on the user's message (fusion); otherwise "required" forces any tool.

A factory gets a `ToolContext` and returns a fresh `ServerTool` (its per-request counters
start at zero); raising `InvalidParameter` naming `ctx.field` makes a bad tool a 400
before any model runs, and raising `ToolUnavailable` says it cannot run here (no backend
configured): a 400 saying so when the request named the tool, left out when it came by
default (the panel's web tools).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from parley import _constants as C
from parley.errors import InvalidParameter, ParleyError
from parley.tools.base import ServerTool, ServerToolSpec, strip_tool_prefix


class ToolUnavailable(Exception):
    """A tool that cannot run here; the message says how to make it available."""


@dataclass(frozen=True)
class RequestFacts:
    """Facts about the request a tool runs in: the outer model, how deep in a deliberation
    it is, where progress events go (and whether a panel should stream its text to
    them), and the user's last message."""

    outer_model: str | None = None
    depth: int = 0
    emit: Callable[[Any], None] | None = None
    stream_panel: bool = False
    last_user_text: str = ""


@dataclass(frozen=True)
class ToolContext:
    """What a factory builds a tool from.

    `parameters`: the request's `parameters` for this tool; `field`: where they came
    from, to name in an error (`tools[1].parameters`); `runtime`: the request's
    `parley.runtime.Runtime` (its search backend, fetcher, clock, web quota, models);
    `request`: per-request facts some tools need (the outer model, the fusion depth,
    the listener for progress events, the user's last message).
    """

    parameters: dict[str, Any]
    field: str
    # A parley.runtime.Runtime. Typed loosely because the runtime sits above the tools
    # package (it holds this registry): a factory annotates what it reads.
    runtime: Any
    request: RequestFacts = dataclasses.field(default_factory=RequestFacts)


@dataclass(frozen=True)
class ServerToolKind:
    """A registered server tool: its name as models see it, its factory, and its manners."""

    name: str
    build: Callable[[ToolContext], ServerTool]
    inner: bool = True
    once_per_turn: bool = False
    forced_by_required: bool = False


def is_server_tool_type(tool_type: str) -> bool:
    """Whether a request's `tools[].type` names a server tool (a known prefix)."""
    return tool_type.startswith(C.TOOL_PREFIXES)


class Registry:
    """Server tools by name."""

    def __init__(self, kinds: Iterable[ServerToolKind] = ()) -> None:
        self._kinds: dict[str, ServerToolKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: ServerToolKind, *, replace: bool = False) -> ServerToolKind:
        """Add a tool kind; a second one with the same name is an error unless `replace`."""
        if kind.name in self._kinds and not replace:
            raise ValueError(f"a server tool named {kind.name!r} is registered already")
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, name: str) -> None:
        self._kinds.pop(name, None)

    def get(self, name: str) -> ServerToolKind | None:
        return self._kinds.get(strip_tool_prefix(name))

    def names(self, *, inner: bool = False) -> list[str]:
        """Every registered name (with `inner`, only those the panel may use)."""
        return [k.name for k in self._kinds.values() if k.inner or not inner]

    def kind(self, spec: ServerToolSpec, field: str) -> ServerToolKind:
        """The kind a request's spec names; InvalidParameter naming `field` otherwise."""
        kind = self.get(spec.type)
        if kind is None:
            known = ", ".join(f"openrouter:{n}" for n in self.names())
            raise InvalidParameter(
                f"{field}.type", f"unknown server tool {spec.type!r}; use {known}"
            )
        return kind

    def build_one(
        self,
        spec: ServerToolSpec,
        runtime: Any,
        *,
        where: str,
        parameters_at: str | None = None,
        request: RequestFacts | None = None,
        inner: bool = False,
    ) -> ServerTool:
        """A fresh tool for `spec`, which sits at `where` in the request (its parameters
        at `parameters_at`, by default `where.parameters`); InvalidParameter names them.
        With `inner`, a kind that may not run inside a deliberation is refused."""
        kind = self.kind(spec, where)
        if inner and not kind.inner:
            raise InvalidParameter(
                f"{where}.type", f"{kind.name} cannot be offered to the panel or judge"
            )
        at = parameters_at if parameters_at is not None else f"{where}.parameters"
        try:
            return kind.build(ToolContext(spec.parameters, at, runtime, request or RequestFacts()))
        except ToolUnavailable as exc:
            raise InvalidParameter(where, str(exc)) from exc
        except ParleyError:
            raise
        except Exception as exc:
            # A factory that does no checking of its own still must not turn a client's
            # bad parameters into a server error.
            raise InvalidParameter(
                at, f"{kind.name} cannot use these parameters ({type(exc).__name__}: {exc})"
            ) from exc

    def build(
        self,
        specs: Sequence[ServerToolSpec],
        runtime: Any,
        *,
        field_name: str = "tools",
        request: RequestFacts | None = None,
        inner: bool = False,
        by_default: bool = False,
    ) -> list[ServerTool]:
        """Fresh tool instances for `specs` (numbered from `field_name`).

        With `inner`, a kind that may not run inside a deliberation is refused; with
        `by_default` (the specs were not asked for), an unavailable tool is left out.
        """
        out: list[ServerTool] = []
        for i, spec in enumerate(specs):
            try:
                out.append(
                    self.build_one(
                        spec, runtime, where=f"{field_name}[{i}]", request=request, inner=inner
                    )
                )
            except InvalidParameter as exc:
                if not (by_default and isinstance(exc.__cause__, ToolUnavailable)):
                    raise
        return out


# The process's registry: built-in tools register here at import, and so can yours.
REGISTRY = Registry()
