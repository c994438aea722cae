"""The Responses API with fusion, through the official `openai` SDK against `parley serve`
(a fake upstream on loopback): the alias, the server tool with parameters, the plugin,
forced fusion, client function tools over two turns, streaming with typed events, and a
400 surfacing as BadRequestError."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import openai
import pytest

from gateway_kit import Gateway, default_models, running
from parley.models.base import Turn
from parley.testing import FakeRequest, FunctionModel, tool_call
from parley.testing.models import tool_calls

T = TypeVar("T")
QUESTION = "Why is the sky blue?"
FUSION_TOOL = {
    "type": "openrouter:fusion",
    "parameters": {"analysis_models": ["vendor/a", "vendor/b"]},
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
async def gw() -> AsyncIterator[Gateway]:
    async with running() as g:
        yield g


async def call(gw: Gateway, fn: Callable[[openai.OpenAI], T]) -> T:
    """Run a sync SDK call in a thread: the fake upstream lives on this loop."""

    def go() -> T:
        with openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0) as client:
            return fn(client)

    return await asyncio.to_thread(go)


def fusion_of(response: Any) -> dict[str, Any]:
    [item] = [o for o in response.output if o.type == "openrouter:fusion"]
    return item.model_dump()


@pytest.mark.parametrize(
    "ask",
    [
        {"model": "openrouter/fusion"},
        {"model": "parley-fusion"},  # slash-free, for agent frameworks
        {"model": "vendor/outer", "tools": [FUSION_TOOL]},
        {
            "model": "vendor/outer",
            "plugins": [{"id": "fusion", "analysis_models": ["vendor/a", "vendor/b"]}],
        },
        {
            "model": "vendor/outer",
            "tools": [FUSION_TOOL],
            "tool_choice": {"type": "openrouter:fusion"},
        },
    ],
    ids=["alias", "slashless-alias", "server-tool", "plugin", "forced"],
)
async def test_fusion_answers_with_its_item_then_the_message(
    gw: Gateway, ask: dict[str, Any]
) -> None:
    # OpenRouter's own fields (plugins) go as the SDK's extra_body.
    extra = {k: v for k, v in ask.items() if k == "plugins"} or None
    known = {k: v for k, v in ask.items() if k != "plugins"}
    r = await call(gw, lambda c: c.responses.create(input=QUESTION, extra_body=extra, **known))
    assert r.status == "completed" and r.model == "vendor/outer"
    assert [o.type for o in r.output] == ["openrouter:fusion", "message"]
    fusion = fusion_of(r)
    assert fusion["status"] == "completed"
    assert set(fusion["analysis"]) == {
        "consensus",
        "contradictions",
        "partial_coverage",
        "unique_insights",
        "blind_spots",
    }
    assert [x["model"] for x in fusion["responses"]] == ["vendor/a", "vendor/b"]
    assert r.output_text == "Final answer from 2 panel responses."
    # Usage sums every call: two panelists, the judge and two outer turns.
    assert r.usage is not None and r.usage.total_tokens == 15 * 5
    assert r.usage.input_tokens_details.cached_tokens == 0


async def test_the_server_tool_parameters_reach_the_panel(gw: Gateway) -> None:
    tool = {
        "type": "openrouter:fusion",
        "parameters": {"analysis_models": ["vendor/b"], "temperature": 0.3},
    }
    r = await call(
        gw, lambda c: c.responses.create(model="vendor/outer", input=QUESTION, tools=[tool])
    )
    assert [x["model"] for x in fusion_of(r)["responses"]] == ["vendor/b"]
    [panel_call] = gw.models["vendor/b"].requests
    assert panel_call.body["temperature"] == 0.3
    assert gw.calls("vendor/a") == 0


def asks_weather(req: FakeRequest) -> Any:
    if not req.tool_results:
        return tool_call("get_weather", {"city": "Paris"}, call_id="call_1")
    return f"It is {req.tool_results[-1]} in Paris."


async def test_client_function_tools_over_two_turns() -> None:
    models = {**default_models(), "vendor/agent": FunctionModel(asks_weather)}
    async with running(models) as gw:
        first = await call(
            gw,
            lambda c: c.responses.create(
                model="vendor/agent", input="Weather in Paris?", tools=[WEATHER]
            ),
        )
        [fc] = first.output
        assert (fc.type, fc.name, fc.call_id, json.loads(fc.arguments)) == (
            "function_call",
            "get_weather",
            "call_1",
            {"city": "Paris"},
        )
        history = [
            {"role": "user", "content": "Weather in Paris?"},
            *[o.model_dump(exclude_none=True) for o in first.output],
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ]
        second = await call(
            gw, lambda c: c.responses.create(model="vendor/agent", input=history, tools=[WEATHER])
        )
    assert second.output_text == "It is sunny in Paris."
    sent = models["vendor/agent"].requests[-1].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_an_earlier_fusion_item_is_accepted_back_as_context(gw: Gateway) -> None:
    first = await call(gw, lambda c: c.responses.create(model="openrouter/fusion", input=QUESTION))
    history = [
        {"role": "user", "content": QUESTION},
        *[o.model_dump(exclude_none=True) for o in first.output],
        {"role": "user", "content": "Say it shorter."},
    ]
    second = await call(
        gw, lambda c: c.responses.create(model="vendor/a", input=history, instructions="Be brief.")
    )
    assert second.status == "completed"
    sent = gw.models["vendor/a"].requests[-1].messages
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert any("Fusion result from an earlier turn" in str(m["content"]) for m in sent)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"store": True}, "store"),
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        (
            {"tools": [{"type": "openrouter:fusion", "parameters": {"temperature": 9}}]},
            "tools[0].parameters.temperature",
        ),
    ],
)
async def test_a_bad_request_is_a_bad_request_error_naming_the_field(
    gw: Gateway, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        await call(gw, lambda c: c.responses.create(model="vendor/outer", input=QUESTION, **body))
    assert field in err.value.message
    assert err.value.status_code == 400


async def test_a_stream_parses_into_the_sdks_typed_events(gw: Gateway) -> None:
    def stream(client: openai.OpenAI) -> tuple[list[Any], Any, list[warnings.WarningMessage]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with client.responses.stream(model="openrouter/fusion", input=QUESTION) as s:
                events = list(s)
                final = s.get_final_response()
        return events, final, caught

    events, final, caught = await call(gw, stream)
    # The SDK warns once per serialisation of an item type it does not know (the fusion
    # item); nothing else may warn.
    unexpected = [w for w in caught if "openrouter:fusion" not in str(w.message)]
    assert unexpected == []
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.fusion_call.panel.completed" in kinds
    assert "response.output_text.delta" in kinds
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert final.output_text == "Final answer from 2 panel responses."
    assert [o.type for o in final.output] == ["openrouter:fusion", "message"]


async def test_a_request_with_no_server_tool_goes_to_a_responses_upstream_untouched(
    gw: Gateway,
) -> None:
    r = await call(
        gw,
        lambda c: c.responses.create(
            model="vendor/a", input=QUESTION, extra_body={"provider": {"order": ["x"]}}
        ),
    )
    assert r.output_text == "A: Rayleigh scattering."
    [sent] = [q for q in gw.upstream.requests if q.path.endswith("/responses")]
    assert sent.body["provider"] == {"order": ["x"]} and sent.body["input"] == QUESTION


def fuses_twice_at_once(req: FakeRequest) -> Any:
    if "fusion" in req.tools and not req.tool_results:
        return tool_calls([("fusion", {"question": "q1"}), ("fusion", {"question": "q2"})])
    return "Answered from one deliberation."


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_second_fusion_call_in_one_turn_is_capped_and_the_first_keeps_its_result(
    stream: bool,
) -> None:
    """Contract: at most one fusion call per turn. The one that ran keeps its analysis and
    responses (and its events, streamed); the other says why it did not run."""
    models = {**default_models(), "vendor/twice": FunctionModel(fuses_twice_at_once)}
    async with running(models) as g:

        def ask(client: openai.OpenAI) -> tuple[Any, list[Any]]:
            kw: dict[str, Any] = {"model": "vendor/twice", "input": QUESTION}
            kw["tools"] = [FUSION_TOOL]
            if not stream:
                return client.responses.create(**kw), []
            with client.responses.stream(**kw) as s:
                events = list(s)
                return s.get_final_response(), events

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the SDK's note on the fusion item type
            response, events = await call(g, ask)
    ran, capped = [o.model_dump() for o in response.output if o.type == "openrouter:fusion"]
    assert ran["status"] == "completed" and "arguments" not in ran
    assert [x["model"] for x in ran["responses"]] == ["vendor/a", "vendor/b"]
    assert "consensus" in ran["analysis"]
    assert capped["status"] == "incomplete"
    assert capped["failure_reason"] == "fusion_invocation_capped" and capped["error"]
    assert response.output_text == "Answered from one deliberation."
    if stream:
        of_ran = [e.type for e in events if getattr(e, "item_id", None) == ran["id"]]
        assert "response.fusion_call.panel.completed" in of_ran
        assert "response.fusion_call.analysis.completed" in of_ran
        assert of_ran[-1] == "response.fusion_call.completed"
        of_capped = [e.type for e in events if getattr(e, "item_id", None) == capped["id"]]
        assert of_capped == ["response.fusion_call.in_progress", "response.fusion_call.completed"]


async def test_cached_prompt_tokens_reach_input_tokens_details() -> None:
    usage: dict[str, Any] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    usage["prompt_tokens_details"] = {"cached_tokens": 6, "cache_write_tokens": 2}
    a = FunctionModel(lambda req: Turn(content="A", finish_reason="stop", usage=dict(usage)))
    async with running({**default_models(), "vendor/a": a}) as g:
        r = await call(g, lambda c: c.responses.create(model="openrouter/fusion", input=QUESTION))
    assert r.usage is not None
    details = r.usage.input_tokens_details.model_dump()
    assert (details["cached_tokens"], details["cache_write_tokens"]) == (6, 2)
