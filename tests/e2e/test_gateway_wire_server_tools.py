"""Fusion and the other server tools through the gateway: every way in, forcing, the
per-turn cap, the depth bound, the plugin switch, the top-level step budget and the
usage sums (contract sections 1, 5 and 6)."""

from __future__ import annotations

import json
from typing import Any

from openai import AsyncOpenAI

from gateway_kit import USAGE, USER, default_models, header, outer, post, running, settings
from parley.gateway import create_app
from parley.models.base import Turn
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.testing.server import ServerThread

CHAT = "/chat/completions"


def fusion_ran(gw: Any, panel: tuple[str, ...] = ("vendor/a", "vendor/b")) -> bool:
    return all(gw.calls(m) == 1 for m in panel) and gw.calls("vendor/judge") == 1


async def test_server_tool_way_in_runs_fusion_and_answers() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:fusion"}],  # type: ignore[list-item]
        )
        assert r.choices[0].message.content == "Final answer from 2 panel responses."
        assert r.model == "vendor/outer"
        assert fusion_ran(gw)


async def test_parley_prefix_is_the_same_tool() -> None:
    async with running() as gw:
        status, data = await post(
            gw.v1 + CHAT,
            {"model": "vendor/outer", "messages": USER, "tools": [{"type": "parley:fusion"}]},
        )
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "Final answer from 2 panel responses."


async def test_model_alias_resolves_to_the_concrete_outer_model() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(model="openrouter/fusion", messages=USER)  # type: ignore[arg-type]
        assert r.model == "vendor/outer"
        assert r.choices[0].message.content == "Final answer from 2 panel responses."
        assert fusion_ran(gw)


async def test_fusion_flash_alias_uses_the_fast_preset() -> None:
    async with running() as gw:
        status, data = await post(
            gw.v1 + CHAT, {"model": "openrouter/fusion-flash", "messages": USER}
        )
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "Final answer from 1 panel responses."
        assert gw.calls("vendor/a") == 1 and gw.calls("vendor/b") == 0


async def test_plugin_way_in_with_its_own_panel() -> None:
    async with running() as gw:
        body = {
            "model": "vendor/outer",
            "messages": USER,
            "plugins": [{"id": "fusion", "analysis_models": ["vendor/b"]}],
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "Final answer from 1 panel responses."
        assert gw.calls("vendor/b") == 1 and gw.calls("vendor/a") == 0


async def test_plugin_preset_picks_the_panel() -> None:
    async with running() as gw:
        body = {
            "model": "vendor/outer",
            "messages": USER,
            "plugins": [{"id": "fusion", "preset": "general-fast"}],
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert gw.calls("vendor/a") == 1 and gw.calls("vendor/b") == 0


async def test_plugin_enabled_false_turns_fusion_off_for_the_request() -> None:
    async with running() as gw:
        body = {
            "model": "openrouter/fusion",
            "messages": USER,
            "plugins": [{"id": "fusion", "enabled": False}, {"id": "web", "max_results": 2}],
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert gw.calls("vendor/a") == 0 and gw.calls("vendor/judge") == 0
        sent = gw.upstream.requests[-1].body
        assert sent["model"] == "vendor/outer"
        assert "tools" not in sent
        assert sent["plugins"] == [{"id": "web", "max_results": 2}]  # others' plugins kept


async def test_tool_choice_required_runs_fusion_exactly_once() -> None:
    models = {**default_models(), "vendor/outer": outer(eager=False)}
    async with running(models) as gw:
        body = {
            "model": "vendor/outer",
            "messages": USER,
            "tools": [{"type": "openrouter:fusion"}],
            "tool_choice": "required",
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "Final answer from 2 panel responses."
        assert fusion_ran(gw)
        first, second = models["vendor/outer"].requests
        assert first.body["tool_choice"] == {"type": "function", "function": {"name": "fusion"}}
        assert "fusion" not in second.tools  # forced once, then the model writes its answer


async def test_tool_choice_naming_fusion_forces_it() -> None:
    models = {**default_models(), "vendor/outer": outer(eager=False)}
    async with running(models) as gw:
        body = {
            "model": "vendor/outer",
            "messages": USER,
            "tools": [{"type": "openrouter:fusion"}],
            "tool_choice": {"type": "openrouter:fusion"},
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert fusion_ran(gw)
        assert len(models["vendor/outer"].requests) == 2


async def test_second_fusion_call_in_a_turn_is_capped() -> None:
    def twice(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            q = {"question": req.last_user}
            return tool_calls([("fusion", q), ("fusion", q)])
        return " | ".join(
            str(json.loads(r).get("failure_reason", json.loads(r)["status"]))
            for r in req.tool_results
        )

    models = {**default_models(), "vendor/outer": FunctionModel(twice)}
    async with running(models) as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "ok | fusion_invocation_capped"
        assert fusion_ran(gw)  # the panel ran once, not twice


async def test_depth_header_withholds_fusion_whatever_is_asked() -> None:
    async with running() as gw:
        for body in (
            {"model": "openrouter/fusion", "messages": USER},
            {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]},
            {"model": "vendor/outer", "messages": USER, "plugins": [{"id": "fusion"}]},
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [{"type": "openrouter:fusion"}, {"type": "openrouter:datetime"}],
                "tool_choice": "required",
            },
        ):
            status, data = await post(gw.v1 + CHAT, body, {"x-openrouter-fusion-depth": "1"})
            assert status == 200, data
            sent = gw.upstream.requests[-1]
            assert header(sent.headers, "x-openrouter-fusion-depth") == "1"
            assert "fusion" not in [
                t.get("function", {}).get("name") for t in sent.body.get("tools", [])
            ]
            assert "plugins" not in sent.body
        assert gw.calls("vendor/a") == 0 and gw.calls("vendor/judge") == 0


async def test_inner_calls_carry_the_next_depth() -> None:
    async with running() as gw:
        body = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}
        status, _ = await post(gw.v1 + CHAT, body)
        assert status == 200
        for rec in gw.upstream.requests:
            depth = header(rec.headers, "x-openrouter-fusion-depth")
            assert depth == ("1" if rec.body["model"] != "vendor/outer" else None)


async def test_usage_sums_every_call_with_cost_and_server_tool_details() -> None:
    async with running() as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:fusion"}],  # type: ignore[list-item]
        )
        usage = r.model_dump()["usage"]
        calls = 5  # two panelists, the judge, the outer model twice
        assert usage["prompt_tokens"] == calls * USAGE["prompt_tokens"]
        assert usage["completion_tokens"] == calls * USAGE["completion_tokens"]
        assert usage["total_tokens"] == calls * USAGE["total_tokens"]
        assert abs(usage["cost"] - calls * USAGE["cost"]) < 1e-9
        assert usage["server_tool_use_details"] == {
            "tool_calls_requested": 1,
            "tool_calls_executed": 1,
            "web_search_requests": 0,
        }


def clock_addict(req: FakeRequest) -> Turn | str:
    if "datetime" in req.tools:
        return tool_call("datetime", {})
    return f"answered after {len(req.tool_results)} tool results"


async def test_top_level_max_tool_calls_bounds_server_tool_steps() -> None:
    models = {**default_models(), "vendor/clock": FunctionModel(clock_addict)}
    async with running(models) as gw:
        body = {
            "model": "vendor/clock",
            "messages": USER,
            "tools": [{"type": "openrouter:datetime"}],
            "max_tool_calls": 2,
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "answered after 2 tool results"
        assert data["usage"]["server_tool_use_details"]["tool_calls_executed"] == 2


async def test_default_budget_is_thirty_steps() -> None:
    models = {**default_models(), "vendor/clock": FunctionModel(clock_addict)}
    async with running(models) as gw:
        body = {
            "model": "vendor/clock",
            "messages": USER,
            "tools": [{"type": "openrouter:datetime"}],
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "answered after 30 tool results"


async def test_stop_server_tools_when_ends_the_loop_early() -> None:
    models = {**default_models(), "vendor/clock": FunctionModel(clock_addict)}
    async with running(models) as gw:
        body = {
            "model": "vendor/clock",
            "messages": USER,
            "tools": [{"type": "parley:datetime"}],
            "stop_server_tools_when": [{"type": "step_count_is", "step_count": 1}],
        }
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
        assert data["choices"][0]["message"]["content"] == "answered after 1 tool results"


async def test_client_tools_beside_server_tools_come_back_to_the_client() -> None:
    def reply(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            return tool_call("datetime", {})
        return tool_call("get_weather", {"city": "Oslo"}, "call_w")

    models = {**default_models(), "vendor/mixed": FunctionModel(reply)}
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    async with running(models) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        r = await c.chat.completions.create(
            model="vendor/mixed",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:datetime"}, weather],  # type: ignore[list-item]
        )
        assert r.choices[0].finish_reason == "tool_calls"
        calls = r.choices[0].message.tool_calls or []
        assert [tc.function.name for tc in calls] == ["get_weather"]  # type: ignore[union-attr]
        assert r.model_dump()["usage"]["server_tool_use_details"]["tool_calls_executed"] == 1


async def test_an_injected_runtime_serves_fusion_from_in_process_models() -> None:

    runtime = build(Setup(settings=settings(), models=default_models()))
    async with ServerThread(create_app(runtime=runtime)) as url:
        status, data = await post(
            url + "/v1/chat/completions", {"model": "openrouter/fusion", "messages": USER}
        )
    assert status == 200, data
    assert data["choices"][0]["message"]["content"] == "Final answer from 2 panel responses."
