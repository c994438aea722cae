"""What the contract tests share: the ways in (library, gateway, CLI) behind one call,
runtimes over in-process fakes, and the fake models the contract's promises are told with.

A promise that holds for every way in is written once, as

    @pytest.mark.parametrize("way", WAYS)
    async def test_...(way: str) -> None:
        reply = await send(way, fleet(), ask_fusion())

`send` takes a Chat Completions body and makes the same request through `parley.Parley`
(models injected), through the gateway on loopback with the official `openai` SDK, or
through `parley ask --json` (click's runner, against a FakeUpstream); each answers with
the final text, the response's model and its usage.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai
from click.testing import CliRunner
from openai import AsyncOpenAI

from cli_kit import cli_env
from gateway_kit import USAGE, fixed, running, settings
from parley import _constants as C
from parley import engine
from parley.cli import cli
from parley.client import Parley
from parley.config import load_settings
from parley.errors import InvalidParameter, UpstreamError
from parley.fusion.params import FusionParams
from parley.models.base import ChatModel, Turn
from parley.runtime import Runtime, Setup, build
from parley.testing import ANALYSIS_JSON, FakeUpstream
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.web import SearchHit
from parley.wire.chat_request import to_request

FIVE_KEYS = {"consensus", "contradictions", "partial_coverage", "unique_insights", "blind_spots"}
QUESTION = "Why is the sky blue?"
USER = [{"role": "user", "content": QUESTION}]
PANEL = ["vendor/a", "vendor/b"]
DATETIME = {"type": "openrouter:datetime"}

# --- the ways in ---------------------------------------------------------------------------

LIBRARY, GATEWAY, CLI = "library", "gateway", "cli"
WAYS = (LIBRARY, GATEWAY, CLI)
# Where a promise needs what `parley ask` cannot send (an incoming depth, a request shape
# other than "this question, fusion forced", injected web backends).
REQUEST_WAYS = (LIBRARY, GATEWAY)
# The SDK's own keyword arguments; every other field of a body goes in `extra_body`.
_SDK_FIELDS = {"model", "messages", "tools", "tool_choice", "temperature", "max_tokens"}


@dataclass
class Reply:
    """What a client gets back, whichever way it came in."""

    text: str
    model: str
    usage: dict[str, Any]

    def result(self) -> dict[str, Any]:
        """The fusion tool result, as a `reporting_outer` model echoes it."""
        out: dict[str, Any] = json.loads(self.text)
        return out


class Rejected(Exception):
    """A request refused before any model ran: a 400, an InvalidParameter, a usage error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def send(
    way: str,
    models: Mapping[str, FunctionModel],
    request: dict[str, Any],
    *,
    depth: int = 0,
    search: FakeSearch | None = None,
    fetcher: FakeFetcher | None = None,
) -> Reply:
    """Make `request` through `way`; raises Rejected when it is refused."""
    web: dict[str, Any] = {k: v for k, v in (("search", search), ("fetcher", fetcher)) if v}
    if way == LIBRARY:
        return await _library(models, request, depth, web)
    if way == GATEWAY:
        return await _gateway(models, request, depth, web)
    if way == CLI:
        if depth or web:
            raise ValueError("`parley ask` sends no incoming depth and takes no injected backend")
        return await _cli(models, request)
    raise ValueError(f"no way in called {way!r}")


async def _library(
    models: Mapping[str, FunctionModel], request: dict[str, Any], depth: int, web: dict[str, Any]
) -> Reply:
    # Ids the models do not hold route to an upstream that knows none: a 404, as OpenRouter.
    async with FakeUpstream({}) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url}
        async with Parley(settings=settings(env), models=models, **web) as p:
            try:
                out = await p.chat(request, depth=depth)
            except InvalidParameter as exc:
                raise Rejected(exc.field, str(exc)) from exc
    return Reply(out.text or "", out.model, out.usage.to_wire())


async def _gateway(
    models: Mapping[str, FunctionModel], request: dict[str, Any], depth: int, web: dict[str, Any]
) -> Reply:
    kwargs = {k: v for k, v in request.items() if k in _SDK_FIELDS}
    extra = {k: v for k, v in request.items() if k not in _SDK_FIELDS}
    headers = {C.DEPTH_HEADER: str(depth)} if depth else None
    async with (
        running(models, **web) as gw,
        AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as client,
    ):
        try:
            r = await client.chat.completions.create(
                **kwargs, extra_body=extra or None, extra_headers=headers
            )
        except openai.BadRequestError as exc:
            err = exc.body if isinstance(exc.body, dict) else {}
            raise Rejected(str(err.get("param")), str(err.get("message"))) from exc
    assert r.usage is not None
    return Reply(r.choices[0].message.content or "", r.model, r.usage.model_dump(exclude_none=True))


def cli_args(request: dict[str, Any]) -> list[str]:
    """`parley ask` arguments for a body that asks one question with fusion forced, the
    only request the CLI makes; anything else is a mistake in the test."""
    messages, tools = request["messages"], request.get("tools") or []
    system = [m["content"] for m in messages[:-1] if m["role"] == "system"]
    if (
        request.get("tool_choice") != "required"
        or len(tools) != 1
        or tools[0].get("type") not in ("openrouter:fusion", "parley:fusion")
        or messages[-1]["role"] != "user"
        or len(messages) != 1 + len(system)
        or set(request) - {"model", "messages", "tools", "tool_choice"}
    ):
        raise ValueError(f"`parley ask` cannot send {request}")
    args = ["ask", "--json", "--no-log", "--quiet", "-m", request["model"]]
    args += ["-s", system[0]] if system else []
    for key, value in (tools[0].get("parameters") or {}).items():
        if key == "analysis_models" and value and all(isinstance(m, str) for m in value):
            args += ["--panel", ",".join(value)]
        elif key == "model" and isinstance(value, str):
            args += ["--judge", value]
        else:
            args += ["-o", key, json.dumps(value)]
    return [*args, messages[-1]["content"]]


async def _cli(models: Mapping[str, FunctionModel], request: dict[str, Any]) -> Reply:
    args = cli_args(request)
    async with FakeUpstream(models) as up:
        # The command runs its own event loop: in a worker thread, while this loop serves.
        res = await asyncio.to_thread(CliRunner().invoke, cli, args, env=cli_env(up.base_url))
    if res.exit_code == 2 and "Invalid value: " in res.stderr:
        message = res.stderr.split("Invalid value: ", 1)[1].strip()
        raise Rejected(message.split(":", 1)[0], message)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    return Reply(out["answer"], out["model"], out["usage"])


# --- requests --------------------------------------------------------------------------------


def fusion_tool(**params: Any) -> dict[str, Any]:
    """The fusion server tool, as a client writes it."""
    tool: dict[str, Any] = {"type": "openrouter:fusion"}
    if params:
        tool["parameters"] = params
    return tool


def ask_fusion(*, forced: bool = True, **params: Any) -> dict[str, Any]:
    """The outer model asked QUESTION with the fusion tool (the request `parley ask` makes)."""
    body: dict[str, Any] = {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [fusion_tool(**params)],
    }
    if forced:
        body["tool_choice"] = "required"
    return body


# --- fake models -----------------------------------------------------------------------------


def priced(turn: Turn | str) -> Turn:
    """A turn reporting USAGE, as every model of the fleet does."""
    t = Turn(content=turn, finish_reason="stop") if isinstance(turn, str) else turn
    t.usage = dict(USAGE)
    return t


def offered_fusion(req: FakeRequest) -> str | None:
    """The offered function that looks like fusion, found as an outsider would."""
    return next((n for n in req.tools if "fusion" in n), None)


def reporting_outer(arguments: dict[str, Any] | None = None) -> FunctionModel:
    """Calls fusion when offered it (with `arguments`, default the user's question), then
    answers with the tool result it got, so a test reads what the outer model saw."""

    def reply(req: FakeRequest) -> Turn:
        name = offered_fusion(req)
        if req.tool_results:
            return priced(req.tool_results[-1])
        if name:
            args = arguments if arguments is not None else {"question": req.last_user}
            return priced(tool_call(name, args))
        return priced("no fusion offered")

    return FunctionModel(reply)


def tool_then(tool: str, arguments: dict[str, Any], final: str) -> FunctionModel:
    """Calls `tool` once (a tool-loop turn), then answers `final`; USAGE on every call."""

    def reply(req: FakeRequest) -> Turn:
        if tool in req.tools and not req.tool_results:
            return priced(tool_call(tool, arguments))
        return priced(final)

    return FunctionModel(reply)


def fleet(**over: FunctionModel) -> dict[str, FunctionModel]:
    """Two panelists, a judge and a reporting outer model, each reporting USAGE per call;
    keyword names replace them (`a=`, `b=`, `judge=`, `outer=`) or add `vendor/<name>`."""
    models = {
        "vendor/a": fixed("A: Rayleigh scattering."),
        "vendor/b": fixed("B: short wavelengths scatter more."),
        "vendor/judge": fixed(ANALYSIS_JSON),
        "vendor/outer": reporting_outer(),
    }
    return models | {f"vendor/{key}": model for key, model in over.items()}


def header(req: FakeRequest, name: str) -> str | None:
    """A request header, whatever case it was sent in."""
    return next((v for k, v in req.headers.items() if k.lower() == name.lower()), None)


# --- runtimes for the library-level promises --------------------------------------------------


def make_runtime(
    models: Mapping[str, ChatModel],
    *,
    panel: list[str] | None = None,
    judge: str | None = "vendor/judge",
    search: FakeSearch | None = None,
    fetcher: FakeFetcher | None = None,
) -> Runtime:
    """A runtime that reaches only the given models, with no HTTP session at all."""
    settings = load_settings(overrides={"panel": panel or PANEL, "judge": judge})
    return build(Setup(settings=settings, models=models, search=search, fetcher=fetcher))


def answer(text: str, **kw: Any) -> FunctionModel:
    """A panelist that answers `text` whatever it is asked."""
    return FunctionModel(lambda req: text, **kw)


def judge(output: str = ANALYSIS_JSON) -> FunctionModel:
    return FunctionModel(lambda req: output, name="judge")


def failing(status: int | None, message: str) -> FunctionModel:
    """A model whose upstream answers every call with an error."""

    def reply(req: FakeRequest) -> str:
        raise UpstreamError(message, status)

    return FunctionModel(reply)


def searching(query: str, final: str) -> FunctionModel:
    """A model that searches once, then answers `final`."""

    def reply(req: FakeRequest) -> Turn | str:
        if "web_search" in req.tools and not req.tool_results:
            return tool_call("web_search", {"query": query})
        return final

    return FunctionModel(reply)


def search_backend(*urls: str) -> FakeSearch:
    """Every query finds the same pages, titled after their URL."""
    return FakeSearch([SearchHit(url=u, title=f"title of {u}", snippet="...") for u in urls])


def usage(prompt: int, completion: int, cost: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cost is not None:
        out["cost"] = cost
    return out


def panel_models(**overrides: ChatModel) -> dict[str, ChatModel]:
    """Two answering panelists and a judge; keyword names replace them (`a=`, `b=`, `judge=`)."""
    models: dict[str, ChatModel] = {
        "vendor/a": answer("A: Rayleigh scattering."),
        "vendor/b": answer("B: Short wavelengths scatter more."),
        "vendor/judge": judge(),
    }
    for key, model in overrides.items():
        models[f"vendor/{key}"] = model
    return models


def plan(raw: dict[str, Any], runtime: Runtime, *, depth: int = 0) -> engine.Plan:
    """Plan a Chat Completions body, as the gateway and the library do."""
    return engine.plan(to_request(raw), runtime, depth=depth)


def fusion_params(p: engine.Plan) -> FusionParams | None:
    """The fusion tool's parameters in a plan, or None when it offers no fusion."""
    specs = [u.spec for u in p.server_tools if u.kind.name == "fusion"]
    return FusionParams.parse(specs[0].parameters) if specs else None
