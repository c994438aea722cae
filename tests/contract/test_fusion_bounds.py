"""Contract section 5: bounds (depth header, no recursive fusion, one fusion call a turn,
the top-level step budget)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    QUESTION,
    fusion_params,
    make_runtime,
    panel_models,
    plan,
    search_backend,
)
from parley import _constants as C
from parley.client import Parley
from parley.config import load_settings
from parley.engine import run as run_chat
from parley.errors import InvalidParameter
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation
from parley.http import new_session
from parley.models.base import Turn
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.testing.upstream import FakeUpstream, Recorded
from parley.testing.web import FakeSearch

PANEL = ["vendor/a", "vendor/b"]
INNER = {*PANEL, "vendor/judge"}


def _researcher(final: str) -> FunctionModel:
    """Searches, then fetches, then answers: three calls, two of them tool-loop turns."""

    def reply(req: FakeRequest) -> Turn | str:
        done = len(req.tool_results)
        if done == 0 and "web_search" in req.tools:
            return tool_call("web_search", {"query": "sky"})
        if done == 1 and "web_fetch" in req.tools:
            return tool_call("web_fetch", {"url": "https://example.org/sky"})
        return final

    return FunctionModel(reply)


def _outer() -> FunctionModel:
    def reply(req: FakeRequest) -> Turn | str:
        if "fusion" in req.tools and not req.tool_results:
            return tool_call("fusion", {"question": QUESTION})
        return "final answer"

    return FunctionModel(reply)


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    models = {
        "vendor/a": _researcher("A answers"),
        "vendor/b": _researcher("B answers"),
        "vendor/judge": _researcher(ANALYSIS_JSON),
        "vendor/outer": _outer(),
    }
    async with FakeUpstream(models) as up:
        yield up


def _tool_names(rec: Recorded) -> list[str]:
    return [t.get("function", {}).get("name", t.get("type")) for t in rec.body.get("tools") or []]


def _web() -> dict[str, Any]:
    from parley.testing.web import FakeFetcher

    pages = {"https://example.org/sky": ("Sky", "Rayleigh scattering.")}
    return {"search": search_backend("https://example.org/sky"), "fetcher": FakeFetcher(pages)}


async def test_every_inner_request_carries_the_depth_header_and_no_fusion_tool(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen from the upstream, reached through OPENROUTER_BASE_URL like OpenRouter itself."""
    monkeypatch.setenv("OPENROUTER_BASE_URL", upstream.base_url)
    async with Parley(settings=load_settings(), **_web()) as p:
        outcome = await p.chat(
            {
                "model": "vendor/outer",
                "messages": [{"role": "user", "content": QUESTION}],
                "tools": [
                    {
                        "type": "openrouter:fusion",
                        "parameters": {"analysis_models": PANEL, "model": "vendor/judge"},
                    }
                ],
                "tool_choice": "required",
            }
        )
    assert outcome.text == "final answer"
    inner = [r for r in upstream.requests if r.body["model"] in INNER]
    per_model = {m: sum(r.body["model"] == m for r in inner) for m in INNER}
    assert per_model == {"vendor/a": 3, "vendor/b": 3, "vendor/judge": 3}  # tool-loop turns too
    for rec in inner:
        assert rec.headers.get(C.DEPTH_HEADER) == "1", rec.body["model"]
        assert "fusion" not in _tool_names(rec)
        assert not any("fusion" in json.dumps(t) for t in rec.body.get("tools") or [])
    outer = [r for r in upstream.requests if r.body["model"] == "vendor/outer"]
    assert len(outer) == 2
    assert all(C.DEPTH_HEADER not in r.headers for r in outer)


@pytest.mark.parametrize("incoming", [0, 2])
async def test_inner_depth_is_incoming_depth_plus_one(
    upstream: FakeUpstream, incoming: int
) -> None:
    async with new_session() as session:
        env = {"OPENROUTER_BASE_URL": upstream.base_url}
        settings = load_settings(env, overrides={"panel": PANEL, "judge": "vendor/judge"})
        runtime = build(Setup(settings=settings, **_web()), session)
        d = Deliberation(runtime, QUESTION, depth=incoming)
        await d.run()
    assert d.result is not None and d.result.status == "ok"
    depths = {r.headers.get(C.DEPTH_HEADER) for r in upstream.requests}
    assert depths == {str(incoming + 1)}
    assert len(upstream.requests) == 9


FUSION_WAYS: list[dict[str, Any]] = [
    {"model": C.FUSION_ALIAS},
    {"model": "vendor/outer", "plugins": [{"id": "fusion", "analysis_models": PANEL}]},
    {"model": "vendor/outer", "tools": [{"type": "openrouter:fusion"}]},
    {"model": "vendor/outer", "tools": [{"type": "parley:fusion"}], "tool_choice": "required"},
]


@pytest.mark.parametrize("ways", FUSION_WAYS)
def test_a_request_at_depth_one_gets_no_fusion_tool(ways: dict[str, Any]) -> None:
    runtime = make_runtime({})
    request = {"messages": [{"role": "user", "content": QUESTION}], **ways}
    assert fusion_params(plan(request, runtime, depth=0)) is not None
    planned = plan(request, runtime, depth=1)
    assert fusion_params(planned) is None
    assert planned.first_tool_choice != {"type": "function", "function": {"name": "fusion"}}


async def test_at_depth_one_the_outer_model_is_not_offered_fusion() -> None:
    outer = _outer()
    runtime = make_runtime(panel_models() | {"vendor/outer": outer})
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:fusion"}],
        "tool_choice": "required",
    }
    outcome = await run_chat(plan(request, runtime, depth=1), runtime)
    assert outcome.deliberations == []
    assert [r.tools for r in outer.requests] == [[]]
    assert outer.requests[0].headers[C.DEPTH_HEADER] == "1"


async def test_a_second_fusion_call_in_the_same_turn_is_capped() -> None:
    def twice(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            return tool_calls([("fusion", {"question": "q1"}), ("fusion", {"question": "q2"})])
        return "answer"

    a = FunctionModel(lambda req: "A")
    outer = FunctionModel(twice)
    runtime = make_runtime(panel_models(a=a) | {"vendor/outer": outer}, panel=["vendor/a"])
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:fusion"}],
    }
    outcome = await run_chat(plan(request, runtime), runtime)
    assert len(outcome.deliberations) == 1
    assert len(a.requests) == 1
    results = [json.loads(r) for r in outer.requests[1].tool_results]
    assert [r["status"] for r in results] == ["ok", "error"]
    assert results[1]["failure_reason"] == "fusion_invocation_capped"


async def test_forced_fusion_runs_once_then_the_model_answers() -> None:
    """`tool_choice: required` forces the first turn only; fusion is then withdrawn."""

    def eager(req: FakeRequest) -> Turn | str:
        if "fusion" in req.tools:
            return tool_call("fusion", {"question": QUESTION})
        return "answer after one deliberation"

    outer = FunctionModel(eager)
    runtime = make_runtime(panel_models() | {"vendor/outer": outer})
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:fusion"}],
        "tool_choice": "required",
    }
    outcome = await run_chat(plan(request, runtime), runtime)
    assert len(outcome.deliberations) == 1
    assert outer.requests[0].body["tool_choice"] == {
        "type": "function",
        "function": {"name": "fusion"},
    }
    assert outer.requests[1].tools == []
    assert outcome.text == "answer after one deliberation"


def _always_datetime(req: FakeRequest) -> Turn | str:
    return tool_call("datetime", {}) if req.tools else "it is late"


@pytest.mark.parametrize(("given", "steps"), [(None, C.OUTER_MAX_TOOL_CALLS_DEFAULT), (3, 3)])
async def test_top_level_max_tool_calls_bounds_server_tool_steps(
    given: int | None, steps: int
) -> None:
    outer = FunctionModel(_always_datetime)
    runtime = make_runtime({"vendor/outer": outer})
    request: dict[str, Any] = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": "What time is it?"}],
        "tools": [{"type": "openrouter:datetime"}],
    }
    if given is not None:
        request["max_tool_calls"] = given
    outcome = await run_chat(plan(request, runtime), runtime)
    assert C.OUTER_MAX_TOOL_CALLS_DEFAULT == 30
    assert len(outer.requests) == steps + 1
    assert outer.requests[-1].tools == []
    assert outcome.text == "it is late"


async def test_stop_server_tools_when_ends_the_loop_early_then_one_final_turn() -> None:
    outer = FunctionModel(_always_datetime)
    runtime = make_runtime({"vendor/outer": outer})
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": "What time is it?"}],
        "tools": [{"type": "openrouter:datetime"}],
        "stop_server_tools_when": [{"type": "step_count_is", "step_count": 2}],
    }
    await run_chat(plan(request, runtime), runtime)
    assert [bool(r.tools) for r in outer.requests] == [True, True, False]


def test_panel_and_judge_tools_never_include_fusion() -> None:
    runtime = make_runtime({}, search=FakeSearch())
    for specs in (None, FusionParams.parse({"tools": [{"type": "openrouter:datetime"}]}).tools):
        assert C.FUSION_TOOL not in {t.name for t in runtime.server_tools(specs)}


BAD_STOPS: list[Any] = [
    [],
    [{"type": "step_count_is", "step_count": 0}],
    [{"type": "max_cost"}],
    [{"type": "when_bored"}],
    [{"type": "has_tool_call", "tool_name": ""}],
]


@pytest.mark.parametrize("conditions", BAD_STOPS)
def test_a_bad_stop_condition_is_an_error_naming_the_field(conditions: Any) -> None:
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:datetime"}],
        "stop_server_tools_when": conditions,
    }
    with pytest.raises(InvalidParameter) as err:
        plan(request, make_runtime({}))
    # the condition's own path when one item is wrong: stop_server_tools_when[1].step_count
    assert err.value.field.startswith("stop_server_tools_when")
