"""Contract section 6: the response's usage sums every call made for the request, inner
calls included, with cost where upstreams report it and the server-tool counts. (That
the response's model is the concrete outer model: test_fusion_ways_in.py, the alias.)"""

from __future__ import annotations

from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    CLI,
    DATETIME,
    PANEL,
    REQUEST_WAYS,
    USAGE,
    WAYS,
    ask_fusion,
    fleet,
    priced,
    search_backend,
    send,
    tool_then,
)
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call


def calls(models: dict[str, FunctionModel]) -> int:
    return sum(len(m.requests) for m in models.values())


@pytest.mark.parametrize("way", WAYS)
async def test_usage_sums_every_call_inner_calls_included(way: str) -> None:
    """Over HTTP too, where the CLI's panel streams and the gateway's does not."""
    models = fleet(a=tool_then("datetime", {}, "A"), b=tool_then("datetime", {}, "B"))
    reply = await send(way, models, ask_fusion(tools=[DATETIME]))
    n = calls(models)
    assert n == 2 + 2 * 2 + 1  # outer twice, each panelist twice (its clock turn), judge
    assert reply.usage == {
        "prompt_tokens": USAGE["prompt_tokens"] * n,
        "completion_tokens": USAGE["completion_tokens"] * n,
        "total_tokens": USAGE["total_tokens"] * n,
        "cost": pytest.approx(USAGE["cost"] * n),
        "server_tool_use_details": {
            "tool_calls_requested": 3,  # fusion and the panel's two clock readings
            "tool_calls_executed": 3,
            "web_search_requests": 0,
        },
    }
    if way == CLI:
        assert any(r.stream for m in PANEL for r in models[m].requests)


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_every_web_search_is_counted_inner_ones_included(way: str) -> None:
    models = fleet(
        a=tool_then("web_search", {"query": "sky"}, "A"),
        b=tool_then("web_search", {"query": "sky"}, "B"),
    )
    search = search_backend("https://example.org/sky")
    reply = await send(way, models, ask_fusion(), search=search)
    assert search.queries == ["sky", "sky"]
    assert reply.usage["server_tool_use_details"] == {
        "tool_calls_requested": 3,  # fusion and two searches
        "tool_calls_executed": 3,
        "web_search_requests": 2,
    }
    assert reply.usage["total_tokens"] == USAGE["total_tokens"] * calls(models)


def unpriced_outer(req: FakeRequest) -> Any:
    if "fusion" in req.tools and not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    return "final"


@pytest.mark.parametrize("way", WAYS)
async def test_cost_is_omitted_when_no_upstream_reports_it(way: str) -> None:
    """Token counts are still summed (FunctionModel counts words when none are given)."""
    models = {
        "vendor/a": FunctionModel(lambda req: "A"),
        "vendor/b": FunctionModel(lambda req: "B"),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
        "vendor/outer": FunctionModel(unpriced_outer),
    }
    reply = await send(way, models, ask_fusion())
    assert "cost" not in reply.usage
    assert reply.usage["total_tokens"] > 0


@pytest.mark.parametrize("way", WAYS)
async def test_usage_of_failed_panelists_still_counts(way: str) -> None:
    def fails_after_a_tool_turn(req: FakeRequest) -> Any:
        if not req.tool_results:
            return priced(tool_call("datetime", {}))
        return priced("")  # empty answer: a failure, but the tokens were spent

    models = fleet(b=FunctionModel(fails_after_a_tool_turn))
    reply = await send(way, models, ask_fusion(tools=[DATETIME]))
    assert [f["model"] for f in reply.result()["failed_models"]] == ["vendor/b"]
    n = calls(models)
    assert n == 2 + 1 + 2 + 1
    assert reply.usage["prompt_tokens"] == USAGE["prompt_tokens"] * n


def cached(text: str, hits: int, writes: int) -> FunctionModel:
    """Answers `text`, reporting USAGE with `hits` prompt tokens read from the provider's
    cache and `writes` written to it."""

    def answer(req: FakeRequest) -> Turn:
        turn = priced(text)
        assert turn.usage is not None
        turn.usage["prompt_tokens_details"] = {"cached_tokens": hits, "cache_write_tokens": writes}
        return turn

    return FunctionModel(answer)


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_cached_prompt_tokens_are_summed_not_dropped(way: str) -> None:
    models = fleet(a=cached("A", 4, 1), b=cached("B", 3, 0))
    reply = await send(way, models, ask_fusion())
    assert reply.usage["prompt_tokens_details"] == {"cached_tokens": 7, "cache_write_tokens": 1}
