"""Builders the contract tests share: runtimes over in-process fakes and canned replies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from parley import engine
from parley.config import load_settings
from parley.errors import UpstreamError
from parley.fusion.params import FusionParams
from parley.models.base import ChatModel, Turn
from parley.runtime import Runtime, Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.web import SearchHit
from parley.wire.chat_request import to_request

ANALYSIS: dict[str, Any] = {
    "consensus": ["Rayleigh scattering makes the sky blue."],
    "contradictions": [
        {
            "topic": "sunsets",
            "stances": [
                {"model": "vendor/a", "stance": "dust"},
                {"model": "vendor/b", "stance": "path length"},
            ],
        }
    ],
    "partial_coverage": [{"models": ["vendor/a"], "point": "ozone"}],
    "unique_insights": [{"model": "vendor/b", "insight": "Mars has blue sunsets."}],
    "blind_spots": ["human colour perception"],
}
ANALYSIS_JSON = json.dumps(ANALYSIS)
FIVE_KEYS = {"consensus", "contradictions", "partial_coverage", "unique_insights", "blind_spots"}
QUESTION = "Why is the sky blue?"


def make_runtime(
    models: Mapping[str, ChatModel],
    *,
    panel: list[str] | None = None,
    judge: str | None = "vendor/judge",
    search: FakeSearch | None = None,
    fetcher: FakeFetcher | None = None,
) -> Runtime:
    """A runtime that reaches only the given models, with no HTTP session at all."""
    settings = load_settings(overrides={"panel": panel or ["vendor/a", "vendor/b"], "judge": judge})
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
