"""Contract section 1: one pipeline, three ways in (server tool, model alias, plugin), how a
request turns fusion off, what the outer model is offered, and forcing: `tool_choice`
runs fusion exactly once, then the outer model writes its answer."""

from __future__ import annotations

from typing import Any

import pytest

import parley
from contract_kit import (
    DATETIME,
    PANEL,
    QUESTION,
    REQUEST_WAYS,
    USAGE,
    USER,
    WAYS,
    answer,
    ask_fusion,
    failing,
    fleet,
    fusion_params,
    fusion_tool,
    make_runtime,
    offered_fusion,
    panel_models,
    plan,
    priced,
    send,
)
from parley import _constants as C
from parley.config import load_settings
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.tools.base import ServerToolSpec
from parley.wire.chat_request import passthrough_body

FORCED = {"type": "function", "function": {"name": "fusion"}}
OFF = {"id": "fusion", "enabled": False}
WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {}}}


def request(**kw: Any) -> dict[str, Any]:
    return {"model": "vendor/outer", "messages": USER, **kw}


# --- the ways of asking for fusion -----------------------------------------------------------

ASKED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "server tool": (request(tools=[fusion_tool()]), PANEL),
    "parley prefix": (request(tools=[{"type": "parley:fusion"}]), PANEL),
    "alias": ({"model": C.FUSION_ALIAS, "messages": USER}, PANEL),
    "parley alias": ({"model": C.PARLEY_FUSION_ALIAS, "messages": USER}, PANEL),
    "flash alias": ({"model": C.FUSION_FLASH_ALIAS, "messages": USER}, ["vendor/a"]),
    "plugin with a panel": (
        request(plugins=[{"id": "fusion", "analysis_models": ["vendor/b"]}]),
        ["vendor/b"],
    ),
    "plugin preset": (request(plugins=[{"id": "fusion", "preset": C.FLASH_PRESET}]), ["vendor/a"]),
    "tool and plugin": (request(tools=[fusion_tool()], plugins=[{"id": "fusion"}]), PANEL),
}


@pytest.mark.parametrize(("asked", "panel"), ASKED.values(), ids=ASKED)
@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_every_way_of_asking_runs_fusion(
    way: str, asked: dict[str, Any], panel: list[str]
) -> None:
    """The alias resolves to the concrete outer model, and the response says so."""
    models = fleet()
    reply = await send(way, models, asked)
    result = reply.result()
    assert result["status"] == "ok"
    assert [r["model"] for r in result["responses"]] == panel
    assert reply.model == "vendor/outer"
    for name in PANEL:
        assert len(models[name].requests) == (name in panel)


@pytest.mark.parametrize("way", WAYS)
async def test_the_outer_model_sees_one_function_named_fusion_taking_a_question(
    way: str,
) -> None:
    """Described as for questions that gain from several perspectives, not simple ones."""
    models = fleet()
    await send(way, models, ask_fusion())
    (tool,) = models["vendor/outer"].requests[0].body["tools"]
    assert tool["type"] == "function"
    fn = tool["function"]
    assert fn["name"] == "fusion"
    assert fn["parameters"]["required"] == ["question"]
    assert "question" in fn["parameters"]["properties"]
    desc = fn["description"].lower()
    for word in ("perspectives", "research", "compare", "simple"):
        assert word in desc, word


@pytest.mark.parametrize("name", ["openrouter:fusion", "openrouter_fusion", "parley:fusion"])
@pytest.mark.parametrize("way", WAYS)
async def test_a_model_calling_fusion_by_its_request_type_still_runs_it(
    way: str, name: str
) -> None:
    def reply(req: FakeRequest) -> Any:
        if req.tool_results:
            return priced(req.tool_results[-1])
        return priced(tool_call(name, {"question": req.last_user}))

    models = fleet(outer=FunctionModel(reply), b=failing(500, "down"))
    result = (await send(way, models, ask_fusion())).result()
    assert result["status"] == "ok"
    assert len(models["vendor/a"].requests) == 1


# --- turning it off ---------------------------------------------------------------------------

TURNED_OFF: dict[str, dict[str, Any]] = {
    "tool, then plugin off": request(tools=[fusion_tool()], plugins=[OFF]),
    "plugin off, then tool": request(plugins=[OFF], tools=[fusion_tool()]),
    "off beside a configured plugin": request(
        plugins=[OFF, {"id": "fusion", "analysis_models": PANEL}]
    ),
    "alias": {"model": C.FUSION_ALIAS, "messages": USER, "plugins": [OFF]},
    "alias, forced": {
        "model": C.FUSION_ALIAS,
        "messages": USER,
        "plugins": [OFF],
        "tool_choice": "required",
    },
    "plugin off, forced by name": request(plugins=[OFF], tool_choice=FORCED),
    "tool, forced by type": request(
        tools=[fusion_tool()], plugins=[OFF], tool_choice={"type": "openrouter:fusion"}
    ),
}


@pytest.mark.parametrize("asked", TURNED_OFF.values(), ids=TURNED_OFF)
@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_plugin_enabled_false_turns_fusion_off_however_it_was_asked_for(
    way: str, asked: dict[str, Any]
) -> None:
    """The plain model answers; nothing names the withheld tool (no dangling tool_choice)."""
    models = fleet()
    reply = await send(way, models, asked)
    assert reply.text == "no fusion offered"
    assert reply.model == "vendor/outer"
    assert not any(models[name].requests for name in [*PANEL, "vendor/judge"])
    (sent,) = models["vendor/outer"].requests
    for field in ("plugins", "tools", "tool_choice"):
        assert field not in sent.body, field


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
        request(tools=[fusion_tool(), weather], plugins=[OFF]),
        request(tools=[], tool_choice="auto"),
        request(tool_choice="required"),
    ):
        sent = passthrough_body(changed, plan(changed, runtime))
        assert sent is not changed


def test_null_parameters_of_a_server_tool_are_no_parameters() -> None:
    p = plan(request(tools=[{**fusion_tool(), "parameters": None}]), make_runtime(panel_models()))
    assert fusion_params(p) is not None
    assert ServerToolSpec.model_validate({"type": "openrouter:datetime", "parameters": None})


# --- the alias and its plugin -----------------------------------------------------------------


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


# --- forcing ----------------------------------------------------------------------------------


def stubborn_outer() -> FunctionModel:
    """Calls fusion whenever it is offered, as a naive loop that forces it again would."""

    def reply(req: FakeRequest) -> Any:
        name = offered_fusion(req)
        if name:
            return priced(tool_call(name, {"question": req.last_user}))
        return priced(f"done after {len(req.tool_results)}")

    return FunctionModel(reply)


CHOICES: dict[str, tuple[Any, list[dict[str, Any]]]] = {
    "required": ("required", []),
    "openrouter type": ({"type": "openrouter:fusion"}, []),
    "parley type": ({"type": "parley:fusion"}, []),
    "function name": (FORCED, []),
    "function name beside datetime": (FORCED, [DATETIME]),
}
FORCINGS = [
    pytest.param(way, choice, also, id=f"{way}-{name}")
    for way in REQUEST_WAYS
    for name, (choice, also) in CHOICES.items()
] + [pytest.param("cli", "required", [], id="cli-required")]


@pytest.mark.parametrize(("way", "choice", "also"), FORCINGS)
async def test_forced_fusion_runs_once_then_the_model_answers(
    way: str, choice: Any, also: list[dict[str, Any]]
) -> None:
    models = fleet(outer=stubborn_outer())
    body = {**ask_fusion(), "tool_choice": choice}
    body["tools"] = body["tools"] + also
    reply = await send(way, models, body)
    assert reply.text == "done after 1"
    assert [len(models[n].requests) for n in (*PANEL, "vendor/judge")] == [1, 1, 1]
    first, second = models["vendor/outer"].requests
    assert first.body["tool_choice"] == FORCED
    assert offered_fusion(second) is None  # forced once, then withdrawn
    assert second.body.get("tool_choice") in (None, "auto")


def round_trip(tool_choice: Any) -> dict[str, Any]:
    """The second request of a client-tool round trip: it ends with the tool's result."""
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    return request(messages=messages, tools=[fusion_tool(), WEATHER], tool_choice=tool_choice)


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_required_does_not_force_fusion_again_on_a_client_tool_round_trip(
    way: str,
) -> None:
    """Fusion is still offered (the model may call it), but not forced on a tool result."""

    def outer_reply(req: FakeRequest) -> Any:
        if req.body.get("tool_choice") == FORCED:
            return tool_call("fusion", {"question": QUESTION})
        return "It is sunny."

    models = fleet(outer=FunctionModel(outer_reply))
    reply = await send(way, models, round_trip("required"))
    assert reply.text == "It is sunny."
    (sent,) = models["vendor/outer"].requests
    assert offered_fusion(sent) == "fusion"
    assert sent.body.get("tool_choice") != FORCED
    assert models["vendor/a"].requests == []


# --- the library's own calls ------------------------------------------------------------------


async def test_the_library_deliberates_without_an_outer_model() -> None:
    models = fleet(b=failing(429, "busy"))
    async with parley.Parley(models=models) as p:
        d = await p.deliberate(QUESTION, panel=PANEL, judge="vendor/judge")
    assert d.result is not None
    wire = d.result.to_wire()
    assert wire["status"] == "ok" and wire["analysis"]
    assert wire["failed_models"] == [{"model": "vendor/b", "error": "busy", "status_code": 429}]
    assert d.usage.total_tokens == 2 * USAGE["total_tokens"]  # panelist a and the judge
    assert models["vendor/outer"].requests == []


def test_deliberate_sync_runs_a_deliberation_for_code_that_is_not_async() -> None:
    models = fleet(a=failing(402, "pay"), b=failing(500, "x"))
    runtime = build(parley.Setup(settings=parley.load_settings(), models=models))
    d = parley.deliberate_sync("q", runtime=runtime, panel=PANEL, judge="vendor/judge")
    assert d.result is not None
    assert d.result.status == "error"
    assert d.result.failure_reason == "insufficient_credits"
