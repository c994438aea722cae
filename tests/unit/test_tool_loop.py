"""The one tool loop: server tools run here, client tools go back, budgets end in text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.tools.base import ToolOutput, function_def
from parley.tools.clock import DatetimeTool
from parley.tools.events import TextDelta, ToolStarted
from parley.tools.loop import StopWhen, run_tool_loop
from parley.usage import Usage

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLIENT_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


class Echo:
    """A server tool that returns its arguments; `fail` makes it raise instead."""

    name = "echo"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def definition(self) -> dict[str, Any]:
        return function_def(self.name, "Echo.", {"text": {"type": "string"}}, ["text"])

    async def run(self, arguments: dict[str, Any]) -> ToolOutput:
        self.calls.append(arguments)
        if self.fail:
            raise ValueError("echo is broken")
        return ToolOutput.json({"echo": arguments.get("text")})


def _body(text: str = "hi") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "temperature": 0.5}


async def test_text_answer_ends_the_loop_at_once() -> None:
    model = FunctionModel(lambda req: "hello")
    res = await run_tool_loop(model, _body(), [Echo()], max_steps=4, headers={})
    assert res.turn.content == "hello" and res.steps == 0
    assert model.requests[0].tools == ["echo"]
    assert model.requests[0].body["temperature"] == 0.5


async def test_server_tool_calls_are_run_and_their_results_fed_back() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            return tool_calls([("echo", {"text": "one"}), ("datetime", {})])
        return "done"

    echo = Echo()
    seen: list[tuple[str, dict[str, Any]]] = []
    model = FunctionModel(reply)
    res = await run_tool_loop(
        model,
        _body(),
        [echo, DatetimeTool(now=lambda: NOW)],
        max_steps=4,
        headers={},
        emit=lambda e: seen.append((e.name, e.arguments)) if isinstance(e, ToolStarted) else None,
    )
    results = [json.loads(r) for r in model.requests[1].tool_results]
    assert results[0] == {"echo": "one"}
    assert results[1]["datetime"] == "2026-11-25T12:00:00+00:00"
    assert [m["role"] for m in res.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert res.steps == 1
    assert seen == [("echo", {"text": "one"}), ("datetime", {})]
    assert (res.usage.tool_calls_requested, res.usage.tool_calls_executed) == (2, 2)


async def test_client_function_tools_are_handed_back() -> None:
    def reply(req: FakeRequest) -> Turn:
        return tool_calls([("get_weather", {"city": "Paris"}), ("echo", {"text": "x"})])

    echo = Echo()
    model = FunctionModel(reply)
    res = await run_tool_loop(
        model, _body(), [echo], max_steps=4, headers={}, client_tools=[CLIENT_TOOL]
    )
    assert [c.name for c in res.client_tool_calls] == ["get_weather"]
    assert res.turn.tool_calls == res.client_tool_calls
    assert echo.calls == []  # the turn goes back to the client as a whole
    assert model.requests[0].tools == ["echo", "get_weather"]


async def test_client_tools_stay_offered_after_the_server_budget_is_spent() -> None:
    def reply(req: FakeRequest) -> Turn:
        if "echo" in req.tools:
            return tool_call("echo", {"text": "again"})
        return tool_call("get_weather", {})

    model = FunctionModel(reply)
    res = await run_tool_loop(
        model, _body(), [Echo()], max_steps=2, headers={}, client_tools=[CLIENT_TOOL]
    )
    assert [r.tools for r in model.requests] == [
        ["echo", "get_weather"],
        ["echo", "get_weather"],
        ["get_weather"],
    ]
    assert [c.name for c in res.client_tool_calls] == ["get_weather"]
    assert model.requests[-1].messages[-1]["role"] == "tool"  # no "do not call tools" note


async def test_unknown_tool_names_get_an_error_result_and_the_loop_goes_on() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        return tool_call("teleport", {"to": "Mars"}) if not req.tool_results else "sorry"

    model = FunctionModel(reply)
    res = await run_tool_loop(model, _body(), [Echo()], max_steps=4, headers={})
    error = json.loads(model.requests[1].tool_results[0])
    assert error["status"] == "failed"
    assert "unknown tool 'teleport'" in error["error"] and "echo" in error["error"]
    assert res.turn.content == "sorry"
    assert res.usage.tool_calls_requested == 0  # not a server tool: nothing was run


async def test_arguments_that_are_not_a_json_object_get_an_error_result() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        if req.tool_results:
            return "ok"
        turn = tool_call("echo", {})
        turn.tool_calls[0].arguments = "{not json"
        return turn

    echo = Echo()
    model = FunctionModel(reply)
    await run_tool_loop(model, _body(), [echo], max_steps=4, headers={})
    assert "not a JSON object" in model.requests[1].tool_results[0]
    assert echo.calls == []


async def test_a_tool_that_raises_becomes_an_error_result_not_a_crash() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        return tool_call("echo", {"text": "x"}) if not req.tool_results else "recovered"

    model = FunctionModel(reply)
    res = await run_tool_loop(model, _body(), [Echo(fail=True)], max_steps=4, headers={})
    assert "ValueError: echo is broken" in model.requests[1].tool_results[0]
    assert res.turn.content == "recovered"
    assert (res.usage.tool_calls_requested, res.usage.tool_calls_executed) == (1, 0)


def _endless(req: FakeRequest) -> Turn | str:
    return tool_call("echo", {"text": str(req.step)}) if req.tools else "final text"


async def test_a_spent_budget_gets_one_final_turn_without_tools() -> None:
    model = FunctionModel(_endless)
    res = await run_tool_loop(
        model, _body(), [Echo()], max_steps=3, headers={}, tool_choice="required"
    )
    assert [bool(r.tools) for r in model.requests] == [True, True, True, False]
    last = model.requests[-1].body
    assert "tools" not in last and "tool_choice" not in last
    assert res.turn.content == "final text" and res.steps == 3


STOPS = [
    ({"type": "step_count_is", "step_count": 2}, 2),
    ({"type": "has_tool_call", "tool_name": "echo"}, 1),
    ({"type": "max_tokens_used", "max_tokens": 1}, 1),
    ({"type": "max_cost", "max_cost_in_dollars": 0.015}, 2),
    ({"type": "finish_reason_is", "reason": "tool_calls"}, 1),
]


@pytest.mark.parametrize(("condition", "steps"), STOPS, ids=[c["type"] for c, _ in STOPS])
async def test_stop_server_tools_when_conditions_end_the_loop(
    condition: dict[str, Any], steps: int
) -> None:
    model = FunctionModel(_endless, cost_per_call=0.01)
    res = await run_tool_loop(
        model,
        _body(),
        [Echo()],
        max_steps=10,
        headers={},
        stop_when=StopWhen([condition]),
    )
    assert res.steps == steps
    assert [bool(r.tools) for r in model.requests] == [True] * steps + [False]
    assert res.turn.content == "final text"


async def test_stop_conditions_that_do_not_fire_leave_the_budget_in_charge() -> None:
    model = FunctionModel(_endless)
    stop = StopWhen([{"type": "has_tool_call", "tool_name": "web_search"}])
    res = await run_tool_loop(model, _body(), [Echo()], max_steps=2, headers={}, stop_when=stop)
    assert res.steps == 2


async def test_a_retired_tool_is_withdrawn_after_its_first_use() -> None:
    model = FunctionModel(_endless)
    await run_tool_loop(
        model,
        _body(),
        [Echo(), DatetimeTool()],
        max_steps=3,
        headers={},
        retire_after_use=frozenset({"echo"}),
    )
    assert model.requests[0].tools == ["echo", "datetime"]
    assert model.requests[1].tools == ["datetime"]


async def test_first_tool_choice_applies_to_the_first_turn_only() -> None:
    model = FunctionModel(_endless)
    forced = {"type": "function", "function": {"name": "echo"}}
    await run_tool_loop(
        model,
        _body(),
        [Echo()],
        max_steps=2,
        headers={},
        first_tool_choice=forced,
        tool_choice="auto",
    )
    assert [r.body.get("tool_choice") for r in model.requests] == [forced, "auto", None]


async def test_headers_go_on_every_turn_and_usage_accumulates_into_the_callers() -> None:
    model = FunctionModel(_endless)
    usage = Usage()
    await run_tool_loop(model, _body(), [Echo()], max_steps=2, headers={"x-h": "1"}, usage=usage)
    assert [r.headers for r in model.requests] == [{"x-h": "1"}] * 3
    assert usage.calls == 3


async def test_text_is_streamed_to_a_listener() -> None:
    pieces: list[str] = []
    model = FunctionModel(lambda req: "one two three")
    res = await run_tool_loop(
        model,
        _body(),
        [],
        max_steps=1,
        headers={},
        emit=lambda e: pieces.append(e.text) if isinstance(e, TextDelta) else None,
        stream=True,
    )
    assert pieces == ["one ", "two ", "three"]
    assert res.turn.content == "one two three"
    assert model.requests[0].stream


def test_streamed_tool_call_deltas_are_assembled() -> None:
    from parley.models.base import Delta, ToolCallDelta, TurnBuilder

    b = TurnBuilder()
    deltas = [
        ToolCallDelta(0, "c1", "web_", ""),
        ToolCallDelta(0, "", "search", '{"qu'),
        ToolCallDelta(0, "", "", 'ery": "x"}'),
        # A server that repeats the whole name in every delta.
        ToolCallDelta(1, "c2", "datetime", "{}"),
        ToolCallDelta(1, "", "datetime", ""),
    ]
    for d in deltas:
        b.feed(Delta(tool_calls=(d,)))
    b.feed(Delta(finish_reason="tool_calls"))
    turn = b.finish()
    assert [(c.id, c.name, c.arguments) for c in turn.tool_calls] == [
        ("c1", "web_search", '{"query": "x"}'),
        ("c2", "datetime", "{}"),
    ]
    assert turn.finish_reason == "tool_calls"


async def test_the_last_turn_asks_for_the_answer_when_the_budget_is_spent() -> None:
    from parley.tools.loop import BUDGET_SPENT

    model = FunctionModel(_endless)
    res = await run_tool_loop(model, _body(), [Echo()], max_steps=1, headers={})
    assert model.requests[-1].messages[-1] == {"role": "user", "content": BUDGET_SPENT}
    assert res.messages[-2]["role"] == "tool"  # the record keeps the conversation as it was


async def test_a_model_that_answers_by_itself_gets_no_budget_note() -> None:
    def once(req: FakeRequest) -> Turn | str:
        return tool_call("echo", {"text": "x"}) if not req.tool_results else "answer"

    model = FunctionModel(once)
    await run_tool_loop(model, _body(), [Echo()], max_steps=4, headers={})
    assert model.requests[-1].messages[-1]["role"] == "tool"
