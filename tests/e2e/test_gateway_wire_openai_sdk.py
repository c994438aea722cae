"""An outsider's audit of the fusion contract, through the wire.

Written as a tester who reads only the contract and OpenRouter's schema would write it:
the official `openai` SDK and raw HTTP against a real gateway on loopback, in front of
fake upstreams; the outer model is a fake that looks for the offered fusion function
and reports back what the tool result held.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

import parley
from gateway_kit import ANALYSIS, USAGE, USER, data_of, fixed, post, running, sse_events
from parley.errors import UpstreamError
from parley.models.base import Turn
from parley.runtime import build
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.web import SearchHit

CHAT = "/chat/completions"
DEPTH = "x-openrouter-fusion-depth"
FIVE = {"consensus", "contradictions", "partial_coverage", "unique_insights", "blind_spots"}


def fusion_name(req: FakeRequest) -> str | None:
    """The offered function that looks like fusion, found as an outsider would."""
    return next((n for n in req.tools if "fusion" in n), None)


def reporting_outer(args: dict[str, Any] | None = None) -> FunctionModel:
    """Calls the fusion function when offered; then answers with the tool result JSON it
    received, so a test can inspect exactly what the outer model saw."""

    def reply(req: FakeRequest) -> Turn:
        name = fusion_name(req)
        if name and not req.tool_results:
            t = tool_call(name, args if args is not None else {"question": req.last_user})
        elif req.tool_results:
            t = Turn(content=req.tool_results[-1], finish_reason="stop")
        else:
            t = Turn(content="no fusion offered", finish_reason="stop")
        t.usage = dict(USAGE)
        return t

    return FunctionModel(reply)


def failing(status: int, message: str) -> FunctionModel:
    def reply(req: FakeRequest) -> str:
        raise UpstreamError(message, status)

    return FunctionModel(reply)


def models(**over: FunctionModel) -> dict[str, FunctionModel]:
    base = {
        "vendor/a": fixed("A: Rayleigh scattering."),
        "vendor/b": fixed("B: short wavelengths scatter more."),
        "vendor/judge": fixed(json.dumps(json.loads(ANALYSIS))),
        "vendor/outer": reporting_outer(),
    }
    return {**base, **over}


def fusion_tool(**params: Any) -> list[dict[str, Any]]:
    return [{"type": "openrouter:fusion", "parameters": params}]


def client(gw: Any) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=gw.v1, api_key="x", max_retries=0)


# --- 1. ways in, and what the outer model sees ---------------------------------------


async def test_the_outer_model_sees_one_function_named_fusion_with_a_question() -> None:
    async with running(models()) as gw, client(gw) as c:
        await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"]),  # type: ignore[arg-type]
        )
        first = gw.models["vendor/outer"].requests[0].body
        (tool,) = first["tools"]
        assert tool["type"] == "function"
        fn = tool["function"]
        assert fn["name"] == "fusion"
        assert fn["parameters"]["required"] == ["question"]
        assert "question" in fn["parameters"]["properties"]
        desc = fn["description"].lower()
        for word in ("perspectives", "research", "compare", "simple"):
            assert word in desc, word


async def test_tool_result_has_the_contract_keys() -> None:
    async with running(models()) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "ok"
        assert set(seen["analysis"]) == FIVE
        assert [x["model"] for x in seen["responses"]] == ["vendor/a", "vendor/b"]
        assert seen["responses"][0]["content"] == "A: Rayleigh scattering."
        assert "failed_models" not in seen  # omitted when nobody failed
        assert r.model == "vendor/outer"


async def test_the_panel_gets_the_question_the_outer_model_wrote() -> None:
    outer = reporting_outer({"question": "Self-contained: why is the sky blue on Earth?"})
    async with running(models(**{"vendor/outer": outer})) as gw, client(gw) as c:
        await c.chat.completions.create(
            model="vendor/outer",
            messages=[{"role": "system", "content": "be brief"}, *USER],  # type: ignore[list-item]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        panel_req = gw.models["vendor/a"].requests[0]
        assert panel_req.messages[-1]["role"] == "user"
        assert "Self-contained: why is the sky blue on Earth?" in panel_req.last_user
        assert all("be brief" not in json.dumps(m) for m in panel_req.messages)


async def test_plugin_through_extra_body() -> None:
    async with running(models()) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            extra_body={
                "plugins": [
                    {"id": "fusion", "analysis_models": ["vendor/b"], "model": "vendor/judge"}
                ]
            },
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert [x["model"] for x in seen["responses"]] == ["vendor/b"]


async def test_model_alias_through_api_v1_path() -> None:
    async with running(models()) as gw:
        status, data = await post(
            gw.url + "/api/v1" + CHAT, {"model": "openrouter/fusion", "messages": USER}
        )
        assert status == 200, data
        assert data["model"] == "vendor/outer"
        seen = json.loads(data["choices"][0]["message"]["content"])
        assert seen["status"] == "ok" and len(seen["responses"]) == 2


@pytest.mark.parametrize(
    "choice",
    [
        "required",
        {"type": "openrouter:fusion"},
        {"type": "parley:fusion"},
        {"type": "function", "function": {"name": "fusion"}},
    ],
)
async def test_forcing_runs_fusion_once_then_lets_the_model_answer(choice: Any) -> None:
    def reply(req: FakeRequest) -> Turn:
        # A stubborn model: calls fusion whenever it is forced to.
        c = req.body.get("tool_choice")
        forced = c == "required" or (isinstance(c, dict) and c.get("type") == "function")
        t = (
            tool_call("fusion", {"question": req.last_user})
            if forced and "fusion" in req.tools
            else Turn(content=f"done after {len(req.tool_results)}", finish_reason="stop")
        )
        t.usage = dict(USAGE)
        return t

    outer = FunctionModel(reply)
    async with running(models(**{"vendor/outer": outer})) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
            tool_choice=choice,
        )
        assert r.choices[0].message.content == "done after 1"
        assert gw.calls("vendor/a") == 1
        assert gw.calls("vendor/outer") == 2


async def test_a_naive_outer_model_calling_fusion_again_gets_capped() -> None:
    def reply(req: FakeRequest) -> Turn:
        n = len(req.tool_results)
        if n < 2:
            t = tool_call("fusion", {"question": "q"})  # calls again even when not offered
        else:
            t = Turn(content=req.tool_results[-1], finish_reason="stop")
        t.usage = dict(USAGE)
        return t

    async with running(models(**{"vendor/outer": FunctionModel(reply)})) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        second = json.loads(r.choices[0].message.content or "")
        assert second["status"] == "error"
        assert second["failure_reason"] == "fusion_invocation_capped"
        assert gw.calls("vendor/a") == 1


async def test_depth_header_through_extra_headers_withholds_fusion() -> None:
    async with running(models()) as gw, client(gw) as c:
        for body in (
            {"model": "openrouter/fusion"},
            {"model": "vendor/outer", "tools": fusion_tool(analysis_models=["vendor/a"])},
            {"model": "vendor/outer", "extra_body": {"plugins": [{"id": "fusion"}]}},
        ):
            r = await c.chat.completions.create(
                messages=USER,  # type: ignore[arg-type]
                extra_headers={DEPTH: "1"},
                **body,  # type: ignore[arg-type]
            )
            assert r.choices[0].message.content == "no fusion offered"
        assert gw.calls("vendor/a") == 0 and gw.calls("vendor/b") == 0
        for req in gw.models["vendor/outer"].requests:
            assert "fusion" not in req.tools


async def test_inner_calls_carry_depth_plus_one() -> None:
    async with running(models()) as gw, client(gw) as c:
        await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        for m in ("vendor/a", "vendor/b", "vendor/judge"):
            for req in gw.models[m].requests:
                assert {k.lower(): v for k, v in req.headers.items()}[DEPTH] == "1"
                assert not any("fusion" in n for n in req.tools)


# --- 4. tool results: partial failure, judge failure, all fail -------------------------


async def test_partial_failure_reaches_the_outer_model_as_failed_models() -> None:
    ms = models(**{"vendor/b": failing(429, "slow down")})
    async with running(ms) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "ok"
        assert [x["model"] for x in seen["responses"]] == ["vendor/a"]
        (failed,) = seen["failed_models"]
        assert failed["model"] == "vendor/b"
        assert failed["status_code"] == 429
        assert "slow down" in failed["error"]


@pytest.mark.parametrize(
    ("judge", "reason"),
    [
        (failing(500, "judge down"), "judge_upstream_error"),
        (fixed(""), "judge_empty_completion"),
        (fixed("I think they mostly agree."), "judge_not_valid_json"),
        (fixed(json.dumps({"consensus": ["x"]})), "judge_schema_mismatch"),
    ],
)
async def test_judge_failure_omits_analysis_keeps_responses_and_says_why(
    judge: FunctionModel, reason: str
) -> None:
    async with running(models(**{"vendor/judge": judge})) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "ok"
        assert "analysis" not in seen
        assert len(seen["responses"]) == 2
        assert seen["failure_reason"] == reason


@pytest.mark.parametrize(
    ("statuses", "reason"),
    [
        ((500, 503), "all_panels_failed"),
        ((500, 429), "rate_limited"),
        ((402, 500), "insufficient_credits"),
    ],
)
async def test_all_panelists_fail_with_a_typed_reason(
    statuses: tuple[int, int], reason: str
) -> None:
    ms = models(**{"vendor/a": failing(statuses[0], "no"), "vendor/b": failing(statuses[1], "no")})
    async with running(ms) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "error"
        assert seen["failure_reason"] == reason
        assert seen["error"]
        assert "analysis" not in seen
        assert gw.calls("vendor/judge") == 0


async def test_unknown_panel_model_is_invalid_model() -> None:
    async with running(models()) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/nope"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "error"
        assert seen["failure_reason"] == "invalid_model"


# --- 2. parameters out of range: 400 naming the field ---------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"analysis_models": []}, "tools[0].parameters.analysis_models"),
        ({"analysis_models": [f"v/m{i}" for i in range(9)]}, "tools[0].parameters.analysis_models"),
        ({"models": [f"v/m{i}" for i in range(9)]}, "tools[0].parameters.models"),
        ({"max_tool_calls": 0}, "tools[0].parameters.max_tool_calls"),
        ({"max_tool_calls": 17}, "tools[0].parameters.max_tool_calls"),
        ({"temperature": 2.5}, "tools[0].parameters.temperature"),
        ({"temperature": -0.1}, "tools[0].parameters.temperature"),
        ({"reasoning": {"effort": "huge"}}, "tools[0].parameters.reasoning.effort"),
        ({"tools": [{"type": "openrouter:fusion"}]}, "tools[0].parameters.tools"),
        ({"tools": [{"type": "openrouter:nope"}]}, "tools[0].parameters.tools"),
        ({"analysis_model": ["vendor/a"]}, "tools[0].parameters.analysis_model"),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(params: dict[str, Any], field: str) -> None:
    async with running(models()) as gw, client(gw) as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.chat.completions.create(
                model="vendor/outer",
                messages=USER,  # type: ignore[arg-type]
                tools=fusion_tool(**params),  # type: ignore[arg-type]
            )
        err = info.value.body
        assert isinstance(err, dict)
        assert field in err["message"], err
        assert err["type"] == "invalid_request_error"
        assert err.get("param") == field
        assert gw.calls("vendor/outer") == 0


async def test_bad_plugin_parameter_is_400_naming_the_plugin_field() -> None:
    async with running(models()) as gw:
        status, data = await post(
            gw.v1 + CHAT,
            {
                "model": "vendor/outer",
                "messages": USER,
                "plugins": [{"id": "fusion", "max_tool_calls": 99}],
            },
        )
        assert status == 400
        assert set(data) == {"error"}
        assert {"message", "type", "code"} <= set(data["error"])
        assert "plugins[0].max_tool_calls" in data["error"]["message"]


async def test_bad_top_level_fields_are_400() -> None:
    async with running(models()) as gw:
        for body, field in (
            ({"model": "vendor/outer"}, "messages"),
            ({"model": "vendor/outer", "messages": USER, "max_tool_calls": "5"}, "max_tool_calls"),
            ({"model": "vendor/outer", "messages": USER, "tools": "fusion"}, "tools"),
            (
                {
                    "model": "vendor/outer",
                    "messages": USER,
                    "stop_server_tools_when": [{"type": "step_count_is"}],
                },
                "stop_server_tools_when",
            ),
        ):
            status, data = await post(gw.v1 + CHAT, body)
            assert status == 400, (body, data)
            assert field in data["error"]["message"], data


# --- 6. usage --------------------------------------------------------------------------


async def test_usage_sums_outer_panel_and_judge_with_cost() -> None:
    async with running(models()) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        calls = 2 + 2 + 1  # outer twice, two panelists, judge
        u = r.usage
        assert u is not None
        assert u.prompt_tokens == calls * USAGE["prompt_tokens"]
        assert u.completion_tokens == calls * USAGE["completion_tokens"]
        assert u.total_tokens == calls * USAGE["total_tokens"]
        extra = u.model_extra or {}
        assert extra["cost"] == pytest.approx(calls * USAGE["cost"])
        details = extra["server_tool_use_details"]
        assert details["tool_calls_requested"] == 1
        assert details["tool_calls_executed"] == 1
        assert details["web_search_requests"] == 0


# --- 7. streaming ----------------------------------------------------------------------


async def test_streaming_a_fusion_answer_with_the_sdk() -> None:
    async with running(models()) as gw, client(gw) as c:
        stream = await c.chat.completions.create(
            model="openrouter/fusion",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        text = ""
        chunks = []
        async for chunk in stream:
            chunks.append(chunk)
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
        assert json.loads(text)["status"] == "ok"
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
        assert {ch.model for ch in chunks} == {"vendor/outer"}
        assert len({ch.id for ch in chunks}) == 1


async def test_raw_stream_shape() -> None:
    async with running(models()) as gw:
        events = await sse_events(
            gw.v1 + CHAT,
            {
                "model": "vendor/outer",
                "messages": USER,
                "stream": True,
                "tools": fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),
            },
        )
        assert events[0].startswith(": OPENROUTER PROCESSING")
        assert not any(line.startswith("id:") for e in events for line in e.split("\n"))
        data = data_of(events)
        assert data[-1] == "[DONE]"
        assert data[-2]["choices"] == [] and data[-2]["usage"]["total_tokens"] > 0
        assert "server_tool_use_details" in data[-2]["usage"]
        first_data = next(i for i, e in enumerate(events) if e.startswith("data:"))
        assert all(e.startswith(":") for e in events[:first_data])


async def test_an_error_mid_stream_is_a_data_event() -> None:
    calls = 0

    def reply(req: FakeRequest) -> Turn:
        nonlocal calls
        calls += 1
        if calls == 1:
            return tool_call("fusion", {"question": "q"})
        raise UpstreamError("outer went away", 503)

    async with running(models(**{"vendor/outer": FunctionModel(reply)})) as gw:
        events = await sse_events(
            gw.v1 + CHAT,
            {
                "model": "vendor/outer",
                "messages": USER,
                "stream": True,
                "tools": fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),
            },
        )
        errors = [d for d in data_of(events) if isinstance(d, dict) and "error" in d]
        assert len(errors) == 1
        assert "outer went away" in errors[0]["error"]["message"]


# --- models listing --------------------------------------------------------------------


async def test_models_list_through_the_sdk_on_both_paths() -> None:
    async with running(models()) as gw:
        for base in (gw.v1, gw.url + "/api/v1"):
            async with AsyncOpenAI(base_url=base, api_key="x", max_retries=0) as c:
                ids = [m.id async for m in c.models.list()]
                assert "openrouter/fusion" in ids and "openrouter/fusion-flash" in ids
                assert "vendor/outer" in ids


# --- web tools inside fusion: sources and usage ------------------------------------------


def searcher(query: str, final: str) -> FunctionModel:
    def reply(req: FakeRequest) -> Turn:
        if "web_search" in req.tools and not req.tool_results:
            t = tool_call("web_search", {"query": query})
        else:
            t = Turn(content=final, finish_reason="stop")
        t.usage = dict(USAGE)
        return t

    return FunctionModel(reply)


async def test_sources_are_deduplicated_and_web_searches_counted() -> None:
    hits = [
        SearchHit(url="https://example.org/sky", title="Sky", snippet="blue"),
        SearchHit(url="https://example.org/light", title="Light", snippet="scatter"),
    ]
    ms = models(
        **{"vendor/a": searcher("sky", "A says blue"), "vendor/b": searcher("sky", "B: blue")}
    )
    async with running(ms, search=FakeSearch(hits), fetcher=FakeFetcher()) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        urls = [s["url"] for s in seen["sources"]]
        assert sorted(urls) == ["https://example.org/light", "https://example.org/sky"]
        assert all(s["title"] for s in seen["sources"])
        assert r.usage is not None
        details = (r.usage.model_extra or {})["server_tool_use_details"]
        assert details["web_search_requests"] == 2
        assert details["tool_calls_requested"] == 3  # fusion + two searches
        assert details["tool_calls_executed"] == 3
        calls = 2 + 2 * 2 + 1  # outer twice, each panelist twice, judge
        assert r.usage.total_tokens == calls * USAGE["total_tokens"]


async def test_forcing_fusion_beside_other_server_tools_forces_it_once() -> None:
    async with (
        running(models(), search=FakeSearch([]), fetcher=FakeFetcher()) as gw,
        client(gw) as c,
    ):
        await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=[
                *fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),
                {"type": "openrouter:web_search"},
            ],  # type: ignore[arg-type]
            tool_choice={"type": "function", "function": {"name": "fusion"}},
        )
        first, second = gw.models["vendor/outer"].requests
        assert first.body["tool_choice"] == {"type": "function", "function": {"name": "fusion"}}
        # fusion has run: the later turn must not name a tool it no longer offers
        assert "fusion" not in second.tools
        assert second.body.get("tool_choice") in (None, "auto")


async def test_a_fusion_call_without_a_question_uses_the_users_message() -> None:
    outer = reporting_outer({})
    async with running(models(**{"vendor/outer": outer})) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        seen = json.loads(r.choices[0].message.content or "")
        assert seen["status"] == "ok"
        assert "Why is the sky blue?" in gw.models["vendor/a"].requests[0].last_user


# --- the library, as an outsider calls it ------------------------------------------------


async def test_library_deliberate_with_function_models() -> None:
    ms = models(**{"vendor/b": failing(429, "busy")})
    async with parley.Parley(models=ms) as p:
        d = await p.deliberate(
            "Why is the sky blue?", panel=["vendor/a", "vendor/b"], judge="vendor/judge"
        )
    wire = d.result.to_wire()  # type: ignore[union-attr]
    assert wire["status"] == "ok"
    assert set(wire["analysis"]) == FIVE
    assert wire["failed_models"] == [{"model": "vendor/b", "error": "busy", "status_code": 429}]
    assert d.usage.total_tokens == 2 * USAGE["total_tokens"]


async def test_library_chat_with_the_fusion_tool() -> None:
    async with parley.Parley(models=models()) as p:
        out = await p.chat(
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),
                "tool_choice": "required",
            }
        )
    seen = json.loads(out.text)
    assert seen["status"] == "ok"
    assert out.usage.to_wire()["total_tokens"] == 4 * USAGE["total_tokens"]


def test_library_deliberate_sync_all_fail() -> None:
    ms = models(**{"vendor/a": failing(402, "pay"), "vendor/b": failing(500, "x")})
    runtime = build(parley.Setup(settings=parley.load_settings(), models=ms))
    d = parley.deliberate_sync(
        "q", runtime=runtime, panel=["vendor/a", "vendor/b"], judge="vendor/judge"
    )
    assert d.result is not None
    assert d.result.status == "error"
    assert d.result.failure_reason == "insufficient_credits"


@pytest.mark.parametrize("name", ["openrouter:fusion", "openrouter_fusion", "parley:fusion"])
async def test_a_model_calling_fusion_by_its_request_type_still_runs_it(name: str) -> None:
    def reply(req: FakeRequest) -> Turn:
        t = (
            Turn(content=req.tool_results[-1], finish_reason="stop")
            if req.tool_results
            else tool_call(name, {"question": req.last_user})
        )
        t.usage = dict(USAGE)
        return t

    async with running(models(**{"vendor/outer": FunctionModel(reply)})) as gw, client(gw) as c:
        r = await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
        )
        assert json.loads(r.choices[0].message.content or "")["status"] == "ok"
        assert gw.calls("vendor/a") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tools": [1]}, "tools[0]"),
        ({"plugins": [{"id": "fusion"}, 3]}, "plugins[1]"),
        ({"tool_choice": 5}, "tool_choice"),
        (
            {"stop_server_tools_when": [{"type": "step_count_is"}]},
            "stop_server_tools_when[0].step_count",
        ),
        ({"stop_server_tools_when": [{"type": "soon"}]}, "stop_server_tools_when[0].type"),
        (
            {"tools": fusion_tool(tools=[{"type": "openrouter:web_search", "x": 1}])},
            "tools[0].parameters.tools[0].x",
        ),
        (
            {"tools": fusion_tool(analysis_models=["vendor/a", 3])},
            "tools[0].parameters.analysis_models[1]",
        ),
    ],
)
async def test_list_items_are_named_with_brackets(body: dict[str, Any], field: str) -> None:
    async with running(models()) as gw:
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/outer", "messages": USER, **body})
        assert status == 400, data
        assert data["error"]["param"] == field
        assert data["error"]["message"].startswith(field + ":")


# --- progress events (opt-in) --------------------------------------------------------------


def thinker(thought: str, answer: str) -> FunctionModel:
    return FunctionModel(
        lambda req: Turn(content=answer, reasoning=thought, finish_reason="stop", usage=USAGE)
    )


async def test_panel_reasoning_streams_as_reasoning_delta_events() -> None:
    ms = models(**{"vendor/a": thinker("Considering both sides", "A: blue.")})
    async with running(ms) as gw:
        events = await sse_events(
            gw.v1 + CHAT,
            {
                "model": "vendor/outer",
                "messages": USER,
                "stream": True,
                "tools": fusion_tool(
                    analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"
                ),
            },
            {"x-parley-fusion-events": "1"},
        )
    named = {}
    for e in events:
        if e.startswith("event: "):
            head, _, data = e.partition("\n")
            named.setdefault(head.removeprefix("event: "), []).append(
                json.loads(data.removeprefix("data: "))
            )
    (thought,) = named["response.fusion_call.panel.reasoning.delta"]
    assert thought["model"] == "vendor/a"
    assert thought["delta"] == "Considering both sides"
    assert {"item_id", "output_index", "sequence_number"} <= set(thought)
    # reasoning is progress only: the panel's answer is its text
    done = {d["model"]: d["content"] for d in named["response.fusion_call.panel.completed"]}
    assert done["vendor/a"] == "A: blue."
    seqs = [d["sequence_number"] for ds in named.values() for d in ds]
    assert len(set(seqs)) == len(seqs)


async def test_library_events_include_reasoning_deltas() -> None:
    ms = models(**{"vendor/a": thinker("hmm", "A")})
    async with parley.Parley(models=ms) as p:
        d = p.deliberation("q", panel=["vendor/a"], judge="vendor/judge")
        got = [e async for e in d.events()]
    kinds = [type(e).__name__ for e in got]
    assert kinds.index("PanelReasoningDelta") < kinds.index("PanelCompleted")


# --- parameters reach the inner calls, over HTTP ------------------------------------------


async def test_parameters_reach_panel_and_judge_over_http() -> None:
    async with running(models()) as gw, client(gw) as c:
        await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(
                analysis_models=["vendor/a", "vendor/b"],
                model="vendor/judge",
                temperature=0.7,
                max_completion_tokens=1234,
                reasoning={"effort": "low", "max_tokens": 500},
                tools=[],
            ),  # type: ignore[arg-type]
        )
        for m in ("vendor/a", "vendor/b"):
            (req,) = gw.models[m].requests
            assert req.body["temperature"] == 0.7
            assert req.body["max_completion_tokens"] == 1234
            assert req.body["reasoning"] == {"effort": "low", "max_tokens": 500}
            assert "tools" not in req.body
        (judge,) = gw.models["vendor/judge"].requests
        assert judge.body["temperature"] == 0
        assert judge.body["max_completion_tokens"] == 1234
        assert judge.body["reasoning"] == {"effort": "low", "max_tokens": 500}
        assert "A: Rayleigh scattering." in json.dumps(judge.messages)


@pytest.mark.parametrize(
    "params",
    [
        {"temperature": 0},
        {"temperature": 2},
        {"temperature": 1},
        {"max_tool_calls": 1},
        {"max_tool_calls": 16},
        {"analysis_models": ["vendor/a"] * 8},
        {"models": ["vendor/a"]},
        {"reasoning": {"effort": "xhigh"}},
        {"cache_control": {"type": "ephemeral"}},
    ],
)
async def test_values_at_the_bounds_are_accepted(params: dict[str, Any]) -> None:
    async with running(models()) as gw:
        status, data = await post(
            gw.v1 + CHAT,
            {"model": "vendor/outer", "messages": USER, "tools": fusion_tool(**params)},
        )
        assert status == 200, data


async def test_alias_with_the_plugin_switched_off_is_the_plain_model() -> None:
    async with running(models()) as gw:
        status, data = await post(
            gw.v1 + CHAT,
            {
                "model": "openrouter/fusion",
                "messages": USER,
                "plugins": [{"id": "fusion", "enabled": False}],
            },
        )
        assert status == 200, data
        assert data["model"] == "vendor/outer"
        assert data["choices"][0]["message"]["content"] == "no fusion offered"
        assert gw.calls("vendor/a") == 0


def named_events(events: list[str]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        if e.startswith("event: "):
            head, _, data = e.partition("\n")
            payload = json.loads(data.removeprefix("data: "))
            assert payload["type"] == head.removeprefix("event: ")
            out.append(payload)
    return out


REQUIRED = {
    "response.fusion_call.in_progress": set(),
    "response.fusion_call.panel.added": {"model"},
    "response.fusion_call.panel.delta": {"model", "delta"},
    "response.fusion_call.panel.completed": {"model", "content"},
    "response.fusion_call.panel.failed": {"model", "error"},
    "response.fusion_call.analysis.in_progress": {"analyst_model", "judge_model"},
    "response.fusion_call.analysis.completed": {"analysis"},
    "response.fusion_call.completed": set(),
}


@pytest.mark.parametrize("judge_ok", [True, False])
async def test_progress_events_carry_openrouters_required_fields(judge_ok: bool) -> None:
    ms = models(**{"vendor/b": failing(429, "busy")})
    if not judge_ok:
        ms["vendor/judge"] = fixed("not json at all")
    async with running(ms) as gw:
        events = await sse_events(
            gw.v1 + CHAT,
            {
                "model": "vendor/outer",
                "messages": USER,
                "stream": True,
                "tools": fusion_tool(
                    analysis_models=["vendor/a", "vendor/b"], model="vendor/judge"
                ),
            },
            {"x-parley-fusion-events": "true"},
        )
    got = named_events(events)
    kinds = [e["type"] for e in got]
    assert kinds[0] == "response.fusion_call.in_progress"
    assert kinds[-1] == "response.fusion_call.completed"
    assert "response.fusion_call.panel.failed" in kinds
    assert ("response.fusion_call.analysis.completed" in kinds) is judge_ok
    for e in got:
        assert {"type", "item_id", "output_index", "sequence_number"} <= set(e)
        assert REQUIRED[e["type"]] <= set(e), e
    assert [e["sequence_number"] for e in got] == sorted({e["sequence_number"] for e in got})
    if not judge_ok:
        assert got[-1]["failure_reason"] == "judge_not_valid_json"
    assert got[-1]["failed_models"][0]["status_code"] == 429


@pytest.mark.parametrize(
    "choice",
    [
        "required",
        {"type": "openrouter:fusion"},
        {"type": "function", "function": {"name": "fusion"}},
    ],
)
async def test_forcing_withheld_fusion_sends_no_dangling_tool_choice(choice: Any) -> None:
    async with running(models()) as gw:
        for body, headers in (
            ({"model": "openrouter/fusion"}, {DEPTH: "1"}),
            ({"model": "vendor/outer", "plugins": [{"id": "fusion", "enabled": False}]}, {}),
        ):
            status, data = await post(
                gw.v1 + CHAT, {**body, "messages": USER, "tool_choice": choice}, headers
            )
            assert status == 200, data
        for req in gw.models["vendor/outer"].requests:
            assert "tools" not in req.body
            assert "tool_choice" not in req.body


async def test_models_retrieve_through_the_sdk() -> None:
    async with running(models()) as gw, client(gw) as c:
        m = await c.models.retrieve("openrouter/fusion")
        assert m.id == "openrouter/fusion" and m.object == "model"
        with pytest.raises(openai.NotFoundError):
            await c.models.retrieve("vendor/never-configured")


async def test_outer_sampling_fields_reach_the_outer_model_only() -> None:
    async with running(models()) as gw, client(gw) as c:
        await c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=fusion_tool(analysis_models=["vendor/a"], model="vendor/judge"),  # type: ignore[arg-type]
            temperature=0.3,
            max_tokens=321,
            extra_body={"provider": {"sort": "price"}, "x_custom": 1},
        )
        for req in gw.models["vendor/outer"].requests:
            assert req.body["temperature"] == 0.3
            assert req.body["max_tokens"] == 321
            assert req.body["provider"] == {"sort": "price"} and req.body["x_custom"] == 1
            assert "plugins" not in req.body and "max_tool_calls" not in req.body
        (panel,) = gw.models["vendor/a"].requests
        assert "temperature" not in panel.body and "max_tokens" not in panel.body
        assert "x_custom" not in panel.body
