"""The gateway's server tools on the wire, beyond the fusion contract's promises (which
tests/contract/ checks for every way in): what a request with fusion switched off still
forwards, client tools beside server tools, and a gateway built on an injected runtime."""

from __future__ import annotations

from openai import AsyncOpenAI

from contract_kit import USER, fleet, priced, reporting_outer
from gateway_kit import post, running, settings
from parley.gateway import create_app
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.server import ServerThread

CHAT = "/chat/completions"


async def test_with_fusion_switched_off_other_plugins_are_forwarded() -> None:
    async with running(fleet()) as gw:
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


async def test_client_tools_beside_server_tools_come_back_to_the_client() -> None:
    def reply(req: FakeRequest) -> object:
        if not req.tool_results:
            return priced(tool_call("datetime", {}))
        return priced(tool_call("get_weather", {"city": "Oslo"}, "call_w"))

    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    async with (
        running(fleet(mixed=FunctionModel(reply))) as gw,
        AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c,
    ):
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
    runtime = build(Setup(settings=settings(), models=fleet(outer=reporting_outer())))
    async with ServerThread(create_app(runtime=runtime)) as url:
        status, data = await post(
            url + "/v1/chat/completions", {"model": "openrouter/fusion", "messages": USER}
        )
    assert status == 200, data
    assert '"status": "ok"' in data["choices"][0]["message"]["content"]
