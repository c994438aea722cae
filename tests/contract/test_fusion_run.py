"""Contract section 3: the run (panel in parallel, judge, outer model's final answer)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    FIVE_KEYS,
    PANEL,
    QUESTION,
    USER,
    WAYS,
    answer,
    ask_fusion,
    fleet,
    judge,
    make_runtime,
    panel_models,
    plan,
    reporting_outer,
    search_backend,
    searching,
    send,
)
from parley.client import deliberate
from parley.engine import run as run_chat
from parley.fusion.tool import NOTE
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.web import FakeFetcher, FakeSearch

# A safety net so that a serial panel fails the test instead of hanging it; it is not a
# synchronisation device: the barrier is what shows concurrency.
DEADLOCK_GUARD_S = 10


async def test_panel_runs_in_parallel() -> None:
    """Each panelist waits until every panelist has started: a serial run never finishes."""
    n = 5
    barrier = asyncio.Barrier(n)

    def waiting(name: str) -> FunctionModel:
        async def reply(req: FakeRequest) -> str:
            async with asyncio.timeout(DEADLOCK_GUARD_S):
                await barrier.wait()
            return f"{name} answers"

        return FunctionModel(reply)

    panel = [f"vendor/p{i}" for i in range(n)]
    models = {m: waiting(m) for m in panel} | {"vendor/judge": judge()}
    d = await deliberate(QUESTION, runtime=make_runtime(models, panel=panel))
    assert d.result is not None
    assert d.result.status == "ok"
    assert [r.content for r in d.result.responses] == [f"{m} answers" for m in panel]
    assert d.result.failed_models == []


async def test_every_panelist_answers_the_same_prompt() -> None:
    a, b = answer("A"), answer("B")
    await deliberate(QUESTION, runtime=make_runtime(panel_models(a=a, b=b)))
    assert a.requests[0].messages == b.requests[0].messages


async def test_panel_prompt_ends_with_a_user_turn() -> None:
    a = answer("A")
    runtime = make_runtime(panel_models(a=a), panel=["vendor/a"])
    await deliberate(QUESTION, runtime=runtime)
    conversation = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Let me think."},
    ]
    await deliberate(conversation, runtime=runtime)
    first, second = a.requests
    assert first.messages == [{"role": "user", "content": QUESTION}]
    assert second.messages[-1]["role"] == "user"
    assert second.messages[:2] == conversation


async def test_panelist_web_tools_are_executed_by_parley() -> None:
    a = searching("rayleigh", "A, having searched")
    search = search_backend("https://example.org/sky")
    runtime = make_runtime(panel_models(a=a), panel=["vendor/a"], search=search)
    d = await deliberate(QUESTION, runtime=runtime)
    assert search.queries == ["rayleigh"]
    result = json.loads(a.requests[1].tool_results[0])
    assert result["results"][0]["url"] == "https://example.org/sky"
    assert d.result is not None and d.result.responses[0].content == "A, having searched"


async def test_a_spent_tool_budget_ends_in_a_text_answer() -> None:
    def always_search(req: FakeRequest) -> Turn | str:
        if req.tools:
            return tool_call("web_search", {"query": f"q{req.step}"})
        return "my answer, tools withheld"

    a = FunctionModel(always_search)
    runtime = make_runtime(panel_models(a=a), panel=["vendor/a"], search=FakeSearch())
    d = await deliberate(QUESTION, runtime=runtime, params={"max_tool_calls": 3})
    assert [bool(r.tools) for r in a.requests] == [True, True, True, False]
    final = a.requests[-1].body
    assert "tools" not in final and "tool_choice" not in final
    assert d.result is not None and d.result.responses[0].content == "my answer, tools withheld"


async def test_a_model_that_calls_tools_after_the_budget_keeps_its_text_only() -> None:
    def stubborn(req: FakeRequest) -> Turn:
        turn = tool_call("web_search", {"query": "again"})
        turn.content = "" if req.tools else "text it wrote alongside"
        return turn

    a = FunctionModel(stubborn)
    runtime = make_runtime(panel_models(a=a), panel=["vendor/a"], search=FakeSearch())
    d = await deliberate(QUESTION, runtime=runtime, params={"max_tool_calls": 1})
    assert d.result is not None and d.result.responses[0].content == "text it wrote alongside"
    assert len(a.requests) == 2


async def test_judge_receives_every_successful_answer_labelled_by_model() -> None:
    j = judge()
    models = panel_models(judge=j) | {"vendor/c": answer("")}
    runtime = make_runtime(models, panel=["vendor/a", "vendor/b", "vendor/c"])
    await deliberate(QUESTION, runtime=runtime)
    prompt = j.requests[0].last_user
    assert QUESTION in prompt
    assert '<answer model="vendor/a">\nA: Rayleigh scattering.\n</answer>' in prompt
    assert '<answer model="vendor/b">\nB: Short wavelengths scatter more.\n</answer>' in prompt
    assert 'model="vendor/c"' not in prompt  # it failed (empty), so the judge never sees it


async def test_judge_is_asked_to_compare_not_merge_with_a_schema() -> None:
    j = judge()
    await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=j)))
    body = j.requests[0].body
    assert "do not merge" in body["messages"][0]["content"]
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == FIVE_KEYS


async def test_judge_may_use_the_same_web_tools() -> None:
    def checking(req: FakeRequest) -> Turn | str:
        if "web_fetch" in req.tools and not req.tool_results:
            return tool_call("web_fetch", {"url": "https://example.org/check"})
        return ANALYSIS_JSON

    j = FunctionModel(checking)
    fetcher = FakeFetcher({"https://example.org/check": ("Check", "the sky is blue")})
    runtime = make_runtime(panel_models(judge=j), search=FakeSearch(), fetcher=fetcher)
    d = await deliberate(QUESTION, runtime=runtime)
    assert j.requests[0].tools == ["web_search", "web_fetch"]
    assert fetcher.urls == ["https://example.org/check"]
    assert d.result is not None and d.result.analysis is not None


SELF_CONTAINED = "Why is the sky blue on Earth? (self-contained)"


@pytest.mark.parametrize("way", WAYS)
async def test_the_panel_gets_the_outer_models_question_and_not_the_conversation(
    way: str,
) -> None:
    models = fleet(outer=reporting_outer({"question": SELF_CONTAINED}))
    body = ask_fusion()
    body["messages"] = [{"role": "system", "content": "be brief"}, *USER]
    await send(way, models, body)
    for name in PANEL:
        (req,) = models[name].requests
        assert req.messages[-1]["role"] == "user"
        assert req.last_user == SELF_CONTAINED
        assert all("be brief" not in json.dumps(m) for m in req.messages)


@pytest.mark.parametrize("way", WAYS)
async def test_a_fusion_call_without_a_question_asks_the_users_message(way: str) -> None:
    models = fleet(outer=reporting_outer({}))
    result = (await send(way, models, ask_fusion())).result()
    assert result["status"] == "ok"
    assert QUESTION in models["vendor/a"].requests[0].last_user


@pytest.mark.parametrize("way", WAYS)
async def test_the_outer_model_gets_the_result_with_a_note_and_writes_the_answer(
    way: str,
) -> None:
    def outer(req: FakeRequest) -> Turn | str:
        if req.tool_results:
            return "final synthesis"
        return tool_call("fusion", {"question": req.last_user})

    models = fleet(outer=FunctionModel(outer))
    reply = await send(way, models, ask_fusion())
    assert reply.text == "final synthesis"
    result = json.loads(models["vendor/outer"].requests[1].tool_results[-1])
    assert result["status"] == "ok"
    assert result["note"] == NOTE
    assert "synthesis, not a majority vote" in NOTE


def _outer_that_calls_fusion(seen: list[dict[str, Any]]) -> FunctionModel:
    def reply(req: FakeRequest) -> Turn | str:
        seen.append(req.body)
        if "fusion" in req.tools and not req.tool_results:
            return tool_call("fusion", {"question": QUESTION})
        return "final synthesis"

    return FunctionModel(reply)


async def test_the_final_synthesis_call_gets_no_web_tools() -> None:
    seen: list[dict[str, Any]] = []
    models = panel_models() | {"vendor/outer": _outer_that_calls_fusion(seen)}
    runtime = make_runtime(models, search=FakeSearch(), fetcher=FakeFetcher())
    request = {
        "model": "vendor/outer",
        "messages": [{"role": "user", "content": "Sky?"}],
        "tools": [{"type": "openrouter:fusion"}],
        "tool_choice": "required",
    }
    await run_chat(plan(request, runtime), runtime)
    assert [t["function"]["name"] for t in seen[0]["tools"]] == ["fusion"]
    assert "tools" not in seen[1]


async def test_the_judge_sees_the_question_even_when_it_came_in_parts() -> None:
    j = judge()
    question = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    await deliberate(question, runtime=make_runtime(panel_models(judge=j)))
    assert f"## Question\n{QUESTION}\n" in j.requests[0].last_user
