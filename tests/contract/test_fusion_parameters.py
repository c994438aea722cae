"""Contract section 2: the fusion tool's parameters, their defaults and their ranges."""

from __future__ import annotations

from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    PANEL,
    QUESTION,
    REQUEST_WAYS,
    USER,
    WAYS,
    Rejected,
    answer,
    ask_fusion,
    fleet,
    make_runtime,
    panel_models,
    plan,
    send,
)
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


REFUSED_IN_A_REQUEST = [
    *OUT_OF_RANGE[:4],
    *OUT_OF_RANGE[6:10],
    ({"reasoning": {"effort": "huge"}}, "parameters.reasoning.effort"),
    ({"tools": [{"type": "openrouter:fusion"}]}, "parameters.tools"),
    ({"tools": [{"type": "openrouter:nope"}]}, "parameters.tools"),
    ({"analysis_model": ["vendor/a"]}, "parameters.analysis_model"),
    ({"analysis_models": ["vendor/a", 3]}, "parameters.analysis_models[1]"),
    ({"tools": [{"type": "openrouter:web_search", "x": 1}]}, "parameters.tools[0].x"),
]


@pytest.mark.parametrize(
    ("params", "field"), REFUSED_IN_A_REQUEST, ids=[f for _, f in REFUSED_IN_A_REQUEST]
)
@pytest.mark.parametrize("way", WAYS)
async def test_out_of_range_parameter_in_a_request_is_refused_naming_the_tool_field(
    way: str, params: dict[str, Any], field: str
) -> None:
    """Before any model runs (over HTTP, a 400); never a silent clamp."""
    models = fleet()
    with pytest.raises(Rejected) as err:
        await send(way, models, ask_fusion(**params))
    assert err.value.field == "tools[0]." + field
    assert err.value.message.startswith("tools[0]." + field + ":")
    assert models["vendor/outer"].requests == []


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_a_bad_plugin_parameter_is_refused_naming_the_plugin_field(way: str) -> None:
    body = {
        "model": "vendor/outer",
        "messages": USER,
        "plugins": [{"id": "fusion", "max_tool_calls": 99}],
    }
    with pytest.raises(Rejected) as err:
        await send(way, fleet(), body)
    assert err.value.field == "plugins[0].max_tool_calls"


def test_an_error_quotes_a_long_value_only_in_part() -> None:
    huge = "x" * 100_000
    body = ask_fusion(forced=False, temperature=huge)
    with pytest.raises(InvalidParameter) as err:
        plan(body, make_runtime({}))
    assert err.value.field == "tools[0].parameters.temperature"
    assert len(str(err.value)) < 400
    assert "100002 characters" in str(err.value)


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
    {"reasoning": {"effort": "xhigh"}},
    {"cache_control": {"type": "ephemeral"}},
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


AT_THE_BOUNDS = {
    "lower": {"analysis_models": ["vendor/a"], "max_tool_calls": 1, "temperature": 0},
    "upper": {"analysis_models": ["vendor/a"] * 8, "max_tool_calls": 16, "temperature": 2},
}


@pytest.mark.parametrize("params", AT_THE_BOUNDS.values(), ids=AT_THE_BOUNDS)
@pytest.mark.parametrize("way", WAYS)
async def test_a_request_at_the_bounds_runs_with_its_values(
    way: str, params: dict[str, Any]
) -> None:
    models = fleet()
    result = (await send(way, models, ask_fusion(**params))).result()
    assert result["status"] == "ok"
    panel = models["vendor/a"].requests
    assert len(panel) == len(params["analysis_models"])
    assert {r.body["temperature"] for r in panel} == {params["temperature"]}


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


FORWARDED = {
    "temperature": 0.7,
    "max_completion_tokens": 1234,
    "reasoning": {"effort": "low", "max_tokens": 500},
}


@pytest.mark.parametrize("way", WAYS)
async def test_parameters_reach_panel_and_judge_but_temperature_only_the_panel(
    way: str,
) -> None:
    """The judge always runs at temperature 0; `tools: []` means no tools for either."""
    models = fleet()
    await send(way, models, ask_fusion(**FORWARDED, tools=[]))
    (judge_req,) = models["vendor/judge"].requests
    for req in (*[r for m in PANEL for r in models[m].requests], judge_req):
        assert req.body["max_completion_tokens"] == 1234
        assert req.body["reasoning"] == {"effort": "low", "max_tokens": 500}
        assert "tools" not in req.body
    assert [models[m].requests[0].body["temperature"] for m in PANEL] == [0.7, 0.7]
    assert judge_req.body["temperature"] == C.JUDGE_TEMPERATURE == 0.0


@pytest.mark.parametrize("way", WAYS)
async def test_without_parameters_provider_defaults_apply_and_the_judge_runs_at_zero(
    way: str,
) -> None:
    models = fleet()
    await send(way, models, ask_fusion())
    (panel_req,) = models["vendor/a"].requests
    (judge_req,) = models["vendor/judge"].requests
    for field in ("temperature", "max_completion_tokens", "reasoning"):
        assert field not in panel_req.body, field
    assert "max_completion_tokens" not in judge_req.body and "reasoning" not in judge_req.body
    assert judge_req.body["temperature"] == 0.0


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_the_requests_own_sampling_fields_reach_the_outer_model_only(way: str) -> None:
    models = fleet()
    body = {
        **ask_fusion(forced=False, analysis_models=["vendor/a"]),
        "temperature": 0.3,
        "max_tokens": 321,
        "provider": {"sort": "price"},
        "x_custom": 1,
    }
    await send(way, models, body)
    for req in models["vendor/outer"].requests:
        assert req.body["temperature"] == 0.3
        assert req.body["max_tokens"] == 321
        assert req.body["provider"] == {"sort": "price"} and req.body["x_custom"] == 1
        assert "plugins" not in req.body and "max_tool_calls" not in req.body
    (panel,) = models["vendor/a"].requests
    for field in ("temperature", "max_tokens", "x_custom", "provider"):
        assert field not in panel.body, field


def test_an_inner_web_tool_without_a_backend_is_an_error_naming_the_field() -> None:
    # No backend, no keyless search (none injected), and panelists OpenRouter does not
    # serve (in-process ones), so nothing can search for them.
    runtime = make_runtime(panel_models())
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
