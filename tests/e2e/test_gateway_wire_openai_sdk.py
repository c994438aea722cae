"""The gateway as an OpenAI-compatible server, seen through the official `openai` SDK and
raw HTTP: both URL prefixes, the model listing, and errors shaped as OpenAI's. (The
fusion contract's promises, through the gateway and every other way in: tests/contract/.)"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from contract_kit import USER, ask_fusion, fleet, fusion_tool
from gateway_kit import post, running

CHAT = "/chat/completions"


async def test_the_alias_answers_on_the_openrouter_path_too() -> None:
    async with running(fleet()) as gw:
        status, data = await post(
            gw.url + "/api/v1" + CHAT, {"model": "openrouter/fusion", "messages": USER}
        )
        assert status == 200, data
        assert data["model"] == "vendor/outer"
        seen = json.loads(data["choices"][0]["message"]["content"])
        assert seen["status"] == "ok" and len(seen["responses"]) == 2


async def test_models_list_through_the_sdk_on_both_paths() -> None:
    async with running(fleet()) as gw:
        for base in (gw.v1, gw.url + "/api/v1"):
            async with AsyncOpenAI(base_url=base, api_key="x", max_retries=0) as c:
                ids = [m.id async for m in c.models.list()]
                assert "openrouter/fusion" in ids and "openrouter/fusion-flash" in ids
                assert "vendor/outer" in ids


async def test_models_retrieve_through_the_sdk() -> None:
    async with running(fleet()) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        m = await c.models.retrieve("openrouter/fusion")
        assert m.id == "openrouter/fusion" and m.object == "model"
        with pytest.raises(openai.NotFoundError):
            await c.models.retrieve("vendor/never-configured")


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"tools": [fusion_tool(max_tool_calls=17)]}, "tools[0].parameters.max_tool_calls"),
    ({"plugins": [{"id": "fusion", "max_tool_calls": 99}]}, "plugins[0].max_tool_calls"),
]


@pytest.mark.parametrize(("body", "field"), REFUSED, ids=[f for _, f in REFUSED])
async def test_a_refused_request_is_an_openai_shaped_400(body: dict[str, Any], field: str) -> None:
    async with running(fleet()) as gw, AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0) as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.chat.completions.create(
                model="vendor/outer",
                messages=USER,  # type: ignore[arg-type]
                extra_body=body,
            )
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/outer", "messages": USER, **body})
    assert info.value.status_code == status == 400
    assert set(data) == {"error"}
    err = data["error"]
    assert info.value.body == err
    assert {"message", "type", "code", "param"} <= set(err)
    assert err["type"] == "invalid_request_error"
    assert err["param"] == field
    assert err["message"].startswith(field + ":")


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"messages": None}, "messages"),
    ({"max_tool_calls": "5"}, "max_tool_calls"),
    ({"tools": "fusion"}, "tools"),
    ({"tools": [1]}, "tools[0]"),
    ({"plugins": [{"id": "fusion"}, 3]}, "plugins[1]"),
    ({"tool_choice": 5}, "tool_choice"),
]


@pytest.mark.parametrize(("fields", "field"), MALFORMED, ids=[f for _, f in MALFORMED])
async def test_a_malformed_field_is_a_400_naming_it(fields: dict[str, Any], field: str) -> None:
    """List items are named with brackets."""
    body = {k: v for k, v in {**ask_fusion(forced=False), **fields}.items() if v is not None}
    async with running(fleet()) as gw:
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 400, (body, data)
        assert data["error"]["param"] == field
        assert data["error"]["message"].startswith(field + ":")
        assert gw.calls("vendor/outer") == 0
