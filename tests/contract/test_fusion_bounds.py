"""Contract section 5, bounds: the depth header on inner calls, no fusion below depth one,
at most one fusion call per turn, and the top-level step budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    DATETIME,
    PANEL,
    QUESTION,
    REQUEST_WAYS,
    USER,
    WAYS,
    Rejected,
    ask_fusion,
    fleet,
    fusion_tool,
    header,
    make_runtime,
    offered_fusion,
    panel_models,
    priced,
    send,
    tool_then,
)
from parley import _constants as C
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.testing.web import FakeSearch

INNER = [*PANEL, "vendor/judge"]


@pytest.mark.parametrize("way", WAYS)
async def test_every_inner_call_carries_the_depth_header_and_no_fusion_tool(way: str) -> None:
    """Panel, judge and their tool loops, at depth 0 + 1; the outer calls carry none."""
    models = fleet(
        a=tool_then("datetime", {}, "A"),
        b=tool_then("datetime", {}, "B"),
        judge=tool_then("datetime", {}, ANALYSIS_JSON),
    )
    reply = await send(way, models, ask_fusion(tools=[DATETIME]))
    assert reply.result()["status"] == "ok"
    for name in INNER:
        assert len(models[name].requests) == 2, name  # the tool-loop turn too
        for req in models[name].requests:
            assert header(req, C.DEPTH_HEADER) == "1", name
            assert offered_fusion(req) is None, name
    outer = models["vendor/outer"].requests
    assert len(outer) == 2
    assert all(header(req, C.DEPTH_HEADER) is None for req in outer)


async def test_a_deliberation_started_at_depth_n_sends_n_plus_one() -> None:
    """Only the library starts a deliberation below the top (a request at depth >= 1 gets
    no fusion at all: the next test)."""
    models = panel_models()
    await Deliberation(make_runtime(models), QUESTION, depth=2).run()
    depths = [header(r, C.DEPTH_HEADER) for m in models.values() for r in m.requests]  # type: ignore[attr-defined]
    assert depths == ["3"] * 3


FUSION_ASKED: dict[str, dict[str, Any]] = {
    "alias": {"model": C.FUSION_ALIAS},
    "plugin": {"model": "vendor/outer", "plugins": [{"id": "fusion", "analysis_models": PANEL}]},
    "tool": {"model": "vendor/outer", "tools": [fusion_tool()]},
    "forced parley tool": {
        "model": "vendor/outer",
        "tools": [{"type": "parley:fusion"}],
        "tool_choice": "required",
    },
    "forced alias": {"model": C.FUSION_ALIAS, "tool_choice": {"type": "openrouter:fusion"}},
    "forced by name beside datetime": {
        "model": "vendor/outer",
        "tools": [fusion_tool(), DATETIME],
        "tool_choice": {"type": "function", "function": {"name": "fusion"}},
    },
}


@pytest.mark.parametrize("asked", FUSION_ASKED.values(), ids=FUSION_ASKED)
@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_a_request_at_depth_one_gets_no_fusion_however_it_asks(
    way: str, asked: dict[str, Any]
) -> None:
    models = fleet()
    reply = await send(way, models, {**asked, "messages": USER}, depth=1)
    assert reply.text == "no fusion offered"
    assert reply.model == "vendor/outer"
    assert all(not models[name].requests for name in INNER)
    (sent,) = models["vendor/outer"].requests
    assert header(sent, C.DEPTH_HEADER) == "1"
    assert offered_fusion(sent) is None
    assert "plugins" not in sent.body
    assert "fusion" not in json.dumps(sent.body.get("tool_choice"))  # no dangling choice
    if not sent.tools:
        assert "tool_choice" not in sent.body


def _statuses(req: FakeRequest) -> str:
    """What each tool result said: its failure reason, else its status."""
    results = [json.loads(r) for r in req.tool_results]
    return " | ".join(str(r.get("failure_reason", r["status"])) for r in results)


def calls_fusion_twice(same_step: bool) -> FunctionModel:
    """Calls fusion twice, in one step or again on the next (where it is no longer
    offered), then answers with what the two results said."""

    def reply(req: FakeRequest) -> Any:
        q = {"question": req.last_user}
        done = len(req.tool_results)
        if same_step and done == 0:
            return priced(tool_calls([("fusion", q), ("fusion", q)]))
        if not same_step and done < 2:
            return priced(tool_call("fusion", q))
        return priced(_statuses(req))

    return FunctionModel(reply)


@pytest.mark.parametrize("same_step", [True, False], ids=["same step", "next step"])
@pytest.mark.parametrize("way", WAYS)
async def test_fusion_is_capped_at_one_call_per_turn(way: str, same_step: bool) -> None:
    models = fleet(outer=calls_fusion_twice(same_step))
    reply = await send(way, models, ask_fusion())
    assert reply.text == "ok | fusion_invocation_capped"
    assert [len(models[name].requests) for name in INNER] == [1, 1, 1]  # the panel ran once


def clock_addict(req: FakeRequest) -> Any:
    if "datetime" in req.tools:
        return tool_call("datetime", {})
    return f"answered after {len(req.tool_results)} tool results"


@pytest.mark.parametrize(("given", "steps"), [(None, C.OUTER_MAX_TOOL_CALLS_DEFAULT), (3, 3)])
@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_top_level_max_tool_calls_bounds_server_tool_steps(
    way: str, given: int | None, steps: int
) -> None:
    """Then one final turn with tools disabled; the default is 30."""
    clock = FunctionModel(clock_addict)
    request: dict[str, Any] = {"model": "vendor/clock", "messages": USER, "tools": [DATETIME]}
    if given is not None:
        request["max_tool_calls"] = given
    reply = await send(way, fleet(clock=clock), request)
    assert C.OUTER_MAX_TOOL_CALLS_DEFAULT == 30
    assert reply.text == f"answered after {steps} tool results"
    assert reply.usage["server_tool_use_details"]["tool_calls_executed"] == steps
    assert len(clock.requests) == steps + 1
    assert clock.requests[-1].tools == []


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_stop_server_tools_when_ends_the_loop_early_then_one_final_turn(way: str) -> None:
    clock = FunctionModel(clock_addict)
    request = {
        "model": "vendor/clock",
        "messages": USER,
        "tools": [{"type": "parley:datetime"}],
        "stop_server_tools_when": [{"type": "step_count_is", "step_count": 2}],
    }
    reply = await send(way, fleet(clock=clock), request)
    assert reply.text == "answered after 2 tool results"
    assert [bool(r.tools) for r in clock.requests] == [True, True, False]


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_stop_conditions_override_max_tool_calls(way: str) -> None:
    """OpenRouter's StopServerToolsWhen: "When set, this overrides `max_tool_calls`"."""
    clock = FunctionModel(clock_addict)
    request = {
        "model": "vendor/clock",
        "messages": USER,
        "tools": [DATETIME],
        "max_tool_calls": 1,
        "stop_server_tools_when": [{"type": "step_count_is", "step_count": 3}],
    }
    reply = await send(way, fleet(clock=clock), request)
    assert reply.text == "answered after 3 tool results"


@pytest.mark.parametrize("name", ["datetime", "openrouter:datetime", "parley:datetime"])
async def test_has_tool_call_matches_a_server_tool_by_either_name(name: str) -> None:
    """As the model calls it, or as the request typed it."""
    clock = FunctionModel(clock_addict)
    request = {
        "model": "vendor/clock",
        "messages": USER,
        "tools": [DATETIME],
        "stop_server_tools_when": [{"type": "has_tool_call", "tool_name": name}],
    }
    reply = await send(REQUEST_WAYS[0], fleet(clock=clock), request)
    assert reply.text == "answered after 1 tool results"


BAD_STOPS: list[tuple[Any, str]] = [
    ([], "stop_server_tools_when"),
    ([{"type": "step_count_is", "step_count": 0}], "stop_server_tools_when[0].step_count"),
    ([{"type": "step_count_is"}], "stop_server_tools_when[0].step_count"),
    ([{"type": "max_cost"}], "stop_server_tools_when[0]"),
    ([{"type": "when_bored"}], "stop_server_tools_when[0].type"),
    ([{"type": "has_tool_call", "tool_name": ""}], "stop_server_tools_when[0]"),
]


@pytest.mark.parametrize(("conditions", "field"), BAD_STOPS)
@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_a_bad_stop_condition_is_refused_naming_the_field(
    way: str, conditions: Any, field: str
) -> None:
    request = {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [DATETIME],
        "stop_server_tools_when": conditions,
    }
    models = fleet()
    with pytest.raises(Rejected) as err:
        await send(way, models, request)
    # the condition's own path when one item is wrong: stop_server_tools_when[0].step_count
    assert err.value.field.startswith(field)
    assert models["vendor/outer"].requests == []


def test_panel_and_judge_tools_never_include_fusion() -> None:
    runtime = make_runtime({}, search=FakeSearch())
    for specs in (None, FusionParams.parse({"tools": [DATETIME]}).tools):
        assert C.FUSION_TOOL not in {t.name for t in runtime.server_tools(specs)}
