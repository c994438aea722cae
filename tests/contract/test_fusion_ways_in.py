"""Contract section 1: how a request asks for fusion, and how it turns fusion off."""

from __future__ import annotations

from typing import Any

import pytest

from contract_kit import QUESTION, answer, fusion_params, make_runtime, panel_models, plan
from parley.config import load_settings
from parley.engine import run as run_chat
from parley.errors import InvalidParameter
from parley.models.base import Turn
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.tools.base import ServerToolSpec
from parley.wire.chat_request import passthrough_body

USER = [{"role": "user", "content": QUESTION}]
FUSION = {"type": "openrouter:fusion"}
OFF = {"id": "fusion", "enabled": False}
FORCED = {"type": "function", "function": {"name": "fusion"}}


def request(**kw: Any) -> dict[str, Any]:
    return {"model": "vendor/outer", "messages": USER, **kw}


@pytest.mark.parametrize(
    "body",
    [
        request(tools=[FUSION], plugins=[OFF]),
        request(plugins=[OFF], tools=[FUSION]),
        request(plugins=[OFF, {"id": "fusion", "analysis_models": ["vendor/a", "vendor/b"]}]),
        {**request(plugins=[OFF]), "model": "openrouter/fusion"},
    ],
)
def test_enabled_false_turns_fusion_off_however_it_was_asked_for(body: dict[str, Any]) -> None:
    p = plan(body, make_runtime(panel_models()))
    assert fusion_params(p) is None
    assert p.passthrough
    sent = passthrough_body(body, p)
    assert "plugins" not in sent and "tools" not in sent


def test_without_enabled_false_the_fusion_tool_runs() -> None:
    p = plan(request(tools=[FUSION], plugins=[{"id": "fusion"}]), make_runtime(panel_models()))
    assert fusion_params(p) is not None


def round_trip(tool_choice: Any) -> dict[str, Any]:
    """The second request of a client-tool round trip: it ends with the tool's result."""
    weather = {"type": "function", "function": {"name": "weather", "parameters": {}}}
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    return request(messages=messages, tools=[FUSION, weather], tool_choice=tool_choice)


def test_required_forces_fusion_on_the_users_question() -> None:
    p = plan(request(tools=[FUSION], tool_choice="required"), make_runtime(panel_models()))
    assert p.first_tool_choice == FORCED
    assert p.tool_choice == "auto"


def test_required_does_not_force_fusion_again_on_a_client_tool_round_trip() -> None:
    p = plan(round_trip("required"), make_runtime(panel_models()))
    assert fusion_params(p) is not None  # still offered; the model may call it
    assert p.first_tool_choice != FORCED
    assert p.tool_choice != FORCED


async def test_a_round_trip_with_required_runs_no_deliberation() -> None:
    def outer_reply(req: FakeRequest) -> Turn | str:
        choice = req.body.get("tool_choice")
        if choice == FORCED:
            return tool_call("fusion", {"question": QUESTION})
        return "It is sunny."

    outer = FunctionModel(outer_reply)
    runtime = make_runtime(panel_models() | {"vendor/outer": outer})
    outcome = await run_chat(plan(round_trip("required"), runtime), runtime)
    assert outcome.deliberations == []
    assert outcome.text == "It is sunny."


def test_null_parameters_of_a_server_tool_are_no_parameters() -> None:
    p = plan(request(tools=[{**FUSION, "parameters": None}]), make_runtime(panel_models()))
    assert fusion_params(p) is not None
    assert ServerToolSpec.model_validate({"type": "openrouter:datetime", "parameters": None})


def test_an_error_quotes_a_long_value_only_in_part() -> None:
    huge = "x" * 100_000
    with pytest.raises(InvalidParameter) as err:
        plan(request(tools=[{**FUSION, "parameters": {"temperature": huge}}]), make_runtime({}))
    assert err.value.field == "tools[0].parameters.temperature"
    assert len(str(err.value)) < 400
    assert "100002 characters" in str(err.value)


def test_passthrough_body_is_the_request_itself_when_nothing_changes() -> None:
    runtime = make_runtime({"vendor/outer": answer("hi")})
    plain = request(temperature=0.2, some_future_field=[1])
    assert passthrough_body(plain, plan(plain, runtime)) is plain
    weather = {"type": "function", "function": {"name": "weather"}}
    with_tools = request(tools=[weather], tool_choice="required")
    assert passthrough_body(with_tools, plan(with_tools, runtime)) is with_tools
    for changed in (
        request(max_tool_calls=3),
        request(plugins=[OFF]),
        request(tools=[FUSION, weather], plugins=[OFF]),
        request(tools=[], tool_choice="auto"),
        request(tool_choice="required"),
    ):
        sent = passthrough_body(changed, plan(changed, runtime))
        assert sent is not changed


def test_with_the_alias_the_plugin_model_also_writes_the_final_answer() -> None:
    """OpenRouter's FusionPlugin.model performs the analyst step and the final synthesis."""
    runtime = build(Setup(settings=load_settings()))
    p = plan(
        {
            "model": "openrouter/fusion",
            "messages": [{"role": "user", "content": "q"}],
            "plugins": [{"id": "fusion", "model": "vendor/j", "analysis_models": ["vendor/a"]}],
        },
        runtime,
    )
    assert p.outer_model == "vendor/j"
    assert fusion_params(p) is not None and fusion_params(p).model == "vendor/j"


def test_with_the_alias_a_plugin_preset_names_the_outer_model() -> None:
    runtime = build(Setup(settings=load_settings()))
    p = plan(
        {
            "model": "openrouter/fusion",
            "messages": [{"role": "user", "content": "q"}],
            "plugins": [{"id": "fusion", "preset": "general-budget"}],
        },
        runtime,
    )
    assert p.outer_model == runtime.settings.outer_model_for("general-budget")
