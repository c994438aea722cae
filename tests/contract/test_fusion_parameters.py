"""Contract section 2: the fusion tool's parameters, their defaults and their ranges."""

from __future__ import annotations

from typing import Any

import pytest

from contract_kit import ANALYSIS_JSON, QUESTION, answer, judge, make_runtime, panel_models, plan
from parley import _constants as C
from parley.client import deliberate
from parley.config import load_settings
from parley.errors import InvalidParameter
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation
from parley.fusion.tool import FusionTool
from parley.models.base import Turn
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.registry import RequestFacts

OUT_OF_RANGE = [
    ({"analysis_models": []}, "parameters.analysis_models"),
    ({"analysis_models": [f"v/m{i}" for i in range(9)]}, "parameters.analysis_models"),
    ({"models": []}, "parameters.models"),
    ({"models": [f"v/m{i}" for i in range(9)]}, "parameters.models"),
    ({"models": ["v/a"], "analysis_models": ["v/b"]}, "parameters.models"),
    ({"analysis_models": ["  "]}, "parameters.analysis_models"),
    ({"max_tool_calls": 0}, "parameters.max_tool_calls"),
    ({"max_tool_calls": 17}, "parameters.max_tool_calls"),
    ({"temperature": -0.1}, "parameters.temperature"),
    ({"temperature": 2.1}, "parameters.temperature"),
    ({"max_completion_tokens": 0}, "parameters.max_completion_tokens"),
    ({"tools": [{"type": "openrouter:fusion"}]}, "parameters.tools"),
    ({"tools": [{"type": "parley:fusion"}]}, "parameters.tools"),
    ({"tools": [{"type": "openrouter:image_generation"}]}, "parameters.tools"),
    ({"tools": [{"type": "openrouter:datetime"}] * 9}, "parameters.tools"),
    ({"reasoning": {"effort": "enormous"}}, "parameters.reasoning.effort"),
    ({"reasoning": {"max_tokens": -1}}, "parameters.reasoning.max_tokens"),
    ({"reasoning": {"budget": 5}}, "parameters.reasoning.budget"),
    ({"analysis_modles": ["v/a"]}, "parameters.analysis_modles"),
    ({"max_tool_calls": True}, "parameters.max_tool_calls"),
    ({"max_tool_calls": "8"}, "parameters.max_tool_calls"),
    ({"temperature": "0.5"}, "parameters.temperature"),
]


@pytest.mark.parametrize(("params", "field"), OUT_OF_RANGE, ids=[f for _, f in OUT_OF_RANGE])
def test_out_of_range_parameter_is_an_error_naming_the_field(
    params: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameter) as err:
        FusionParams.parse(params)
    assert err.value.field == field
    assert str(err.value).startswith(field + ":")


@pytest.mark.parametrize(("params", "field"), OUT_OF_RANGE[:4] + OUT_OF_RANGE[6:10])
def test_out_of_range_parameter_in_a_request_names_the_tool_field(
    params: dict[str, Any], field: str
) -> None:
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:fusion", "parameters": params}],
    }
    with pytest.raises(InvalidParameter) as err:
        plan(request, make_runtime({}))
    assert err.value.field == "tools[0]." + field


BOUNDARIES = [
    {"analysis_models": ["v/a"]},
    {"models": [f"v/m{i}" for i in range(8)]},
    {"max_tool_calls": 1},
    {"max_tool_calls": 16},
    {"temperature": 0},
    {"temperature": 2},
    {"temperature": 0.7},
    {"tools": []},
    {"tools": [{"type": "openrouter:datetime"}] * 8},
    {"reasoning": {"effort": "high", "max_tokens": 0}},
]


@pytest.mark.parametrize("params", BOUNDARIES)
def test_values_at_the_bounds_are_kept_not_clamped(params: dict[str, Any]) -> None:
    parsed = FusionParams.parse(params).model_dump(exclude_unset=True)
    key = next(iter(params))
    got = parsed["analysis_models" if key == "models" else key]
    if key == "tools":
        assert len(got) == len(params[key])
    else:
        assert got == params[key]


def test_models_is_an_alias_of_analysis_models() -> None:
    assert FusionParams.parse({"models": ["v/a", "v/b"]}).analysis_models == ["v/a", "v/b"]


def test_panel_defaults_to_the_configured_preset() -> None:
    settings = load_settings(
        overrides={
            "preset": "mine",
            "presets": {"mine": {"analysis_models": ["vendor/x", "vendor/y"]}},
        }
    )
    runtime = build(Setup(settings=settings, models={}))
    d = Deliberation(runtime, QUESTION)
    assert d.panel == ["vendor/x", "vendor/y"]


def test_panel_in_the_parameters_beats_the_preset() -> None:
    runtime = make_runtime({})
    d = Deliberation(runtime, QUESTION, FusionParams.parse({"models": ["vendor/z"]}))
    assert d.panel == ["vendor/z"]


def test_judge_defaults_to_the_outer_model() -> None:
    runtime = make_runtime({}, judge=None)
    tool = FusionTool(runtime, FusionParams(), RequestFacts(outer_model="vendor/outer"))
    assert tool.prepare(QUESTION).judge == "vendor/outer"


def test_judge_parameter_beats_the_outer_model() -> None:
    runtime = make_runtime({}, judge=None)
    tool = FusionTool(
        runtime, FusionParams(model="vendor/j"), RequestFacts(outer_model="vendor/outer")
    )
    assert tool.prepare(QUESTION).judge == "vendor/j"


async def test_max_tool_calls_defaults_to_eight_steps() -> None:
    def always_search(req: FakeRequest) -> Turn | str:
        return tool_call("web_search", {"query": "q"}) if req.tools else "done"

    a = FunctionModel(always_search)
    runtime = make_runtime(panel_models(a=a), panel=["vendor/a"], search=FakeSearch())
    await deliberate(QUESTION, runtime=runtime)
    assert FusionParams().max_tool_calls == C.INNER_MAX_TOOL_CALLS_DEFAULT == 8
    with_tools = [r for r in a.requests if r.tools]
    assert len(with_tools) == 8
    assert len(a.requests) == 9


async def test_inner_tools_default_to_web_search_and_web_fetch() -> None:
    a = answer("A")
    runtime = make_runtime(
        panel_models(a=a), panel=["vendor/a"], search=FakeSearch(), fetcher=FakeFetcher()
    )
    await deliberate(QUESTION, runtime=runtime)
    assert a.requests[0].tools == ["web_search", "web_fetch"]


async def test_empty_tools_means_no_tools_for_panel_and_judge() -> None:
    a, j = answer("A"), judge()
    runtime = make_runtime(
        panel_models(a=a, judge=j), panel=["vendor/a"], search=FakeSearch(), fetcher=FakeFetcher()
    )
    await deliberate(QUESTION, runtime=runtime, params={"tools": []})
    assert "tools" not in a.requests[0].body
    assert "tools" not in j.requests[0].body


async def test_temperature_goes_to_panel_calls_only_and_the_judge_runs_at_zero() -> None:
    a, b, j = answer("A"), answer("B"), judge()
    runtime = make_runtime(panel_models(a=a, b=b, judge=j))
    await deliberate(QUESTION, runtime=runtime, params={"temperature": 1.3})
    assert [r.body["temperature"] for r in a.requests + b.requests] == [1.3, 1.3]
    assert [r.body["temperature"] for r in j.requests] == [C.JUDGE_TEMPERATURE] == [0.0]


async def test_judge_runs_at_zero_when_no_temperature_is_given() -> None:
    a, j = answer("A"), judge()
    runtime = make_runtime(panel_models(a=a, judge=j), panel=["vendor/a"])
    await deliberate(QUESTION, runtime=runtime)
    assert "temperature" not in a.requests[0].body
    assert j.requests[0].body["temperature"] == 0.0


async def test_max_completion_tokens_and_reasoning_go_to_panel_and_judge() -> None:
    a, j = answer("A"), judge()
    runtime = make_runtime(panel_models(a=a, judge=j), panel=["vendor/a"])
    params = {"max_completion_tokens": 321, "reasoning": {"effort": "low", "max_tokens": 64}}
    await deliberate(QUESTION, runtime=runtime, params=params)
    for req in (a.requests[0], j.requests[0]):
        assert req.body["max_completion_tokens"] == 321
        assert req.body["reasoning"] == {"effort": "low", "max_tokens": 64}


async def test_provider_defaults_apply_when_not_given() -> None:
    a, j = answer("A"), judge()
    runtime = make_runtime(panel_models(a=a, judge=j), panel=["vendor/a"])
    await deliberate(QUESTION, runtime=runtime)
    for req in (a.requests[0], j.requests[0]):
        assert "max_completion_tokens" not in req.body
        assert "reasoning" not in req.body


def test_an_inner_web_tool_without_a_backend_is_an_error_naming_the_field() -> None:
    runtime = make_runtime({})  # no search backend configured
    params = FusionParams.parse({"tools": [{"type": "openrouter:web_search"}]})
    with pytest.raises(InvalidParameter) as err:
        Deliberation(runtime, QUESTION, params)
    assert err.value.field == "parameters.tools[0]"
    assert "SEARXNG_URL" in str(err.value)


def test_a_judge_set_in_the_config_beats_the_outer_model_default() -> None:
    runtime = make_runtime({}, judge="vendor/configured")
    tool = FusionTool(runtime, FusionParams(), RequestFacts(outer_model="vendor/outer"))
    assert tool.prepare(QUESTION).judge == "vendor/configured"


def test_no_panel_anywhere_is_an_error_naming_the_field() -> None:
    settings = load_settings(overrides={"preset": "missing"})
    runtime = build(Setup(settings=settings, models={}))
    with pytest.raises(InvalidParameter) as err:
        Deliberation(runtime, QUESTION)
    assert err.value.field == "parameters.analysis_models"
    assert "'missing'" in str(err.value)


def test_an_unusable_fusion_request_fails_when_planned() -> None:
    outer = answer("should not run")
    runtime = make_runtime(panel_models() | {"vendor/outer": outer})  # no search backend
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": QUESTION}],
        "tools": [{"type": "openrouter:fusion", "parameters": {"tools": [{"type": "web_search"}]}}],
    }
    with pytest.raises(InvalidParameter) as err:
        plan(request, runtime)  # before anything could stream
    assert err.value.field == "tools[0].parameters.tools[0]"
    assert outer.requests == []


async def test_max_tool_calls_bounds_the_judge_too() -> None:
    def checks_forever(req: FakeRequest) -> Turn | str:
        return tool_call("web_search", {"query": "check"}) if req.tools else ANALYSIS_JSON

    j = FunctionModel(checks_forever)
    runtime = make_runtime(panel_models(judge=j), search=FakeSearch())
    d = await deliberate(QUESTION, runtime=runtime, params={"max_tool_calls": 2})
    assert [bool(r.tools) for r in j.requests] == [True, True, False]
    assert d.result is not None and d.result.analysis is not None
