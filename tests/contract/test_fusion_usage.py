"""Contract section 6: usage and cost summed over every call a request makes."""

from __future__ import annotations

from typing import Any

import pytest

from contract_kit import ANALYSIS_JSON, QUESTION, make_runtime, plan, search_backend, usage
from parley.client import Parley
from parley.config import load_settings
from parley.engine import run as run_chat
from parley.models.base import Turn
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.upstream import FakeUpstream

# Each call reports 10 prompt and 5 completion tokens and, where priced, 0.25 dollars.
PRICED = usage(10, 5, 0.25)


def _with_usage(turn: Turn | str, reported: dict[str, Any]) -> Turn:
    turn = Turn(content=turn, finish_reason="stop") if isinstance(turn, str) else turn
    turn.usage = dict(reported)
    return turn


def _searcher(final: str, reported: dict[str, Any]) -> FunctionModel:
    def reply(req: FakeRequest) -> Turn:
        if "web_search" in req.tools and not req.tool_results:
            return _with_usage(tool_call("web_search", {"query": "sky"}), reported)
        return _with_usage(final, reported)

    return FunctionModel(reply)


def _outer(reported: dict[str, Any]) -> FunctionModel:
    def reply(req: FakeRequest) -> Turn:
        if "fusion" in req.tools and not req.tool_results:
            return _with_usage(tool_call("fusion", {"question": QUESTION}), reported)
        return _with_usage("final", reported)

    return FunctionModel(reply)


def _models(reported: dict[str, Any]) -> dict[str, FunctionModel]:
    return {
        "vendor/a": _searcher("A", reported),
        "vendor/b": _searcher("B", reported),
        "vendor/judge": FunctionModel(lambda req: _with_usage(ANALYSIS_JSON, reported)),
        "vendor/outer": _outer(reported),
    }


REQUEST = {
    "model": "vendor/outer",
    "messages": [{"role": "user", "content": QUESTION}],
    "tools": [{"type": "openrouter:fusion"}],
}
# Outer: 2 calls; panel: 2 x (search turn + answer); judge: 1 call.
CALLS = 2 + 2 * 2 + 1


async def test_usage_sums_every_call_inner_calls_included() -> None:
    runtime = make_runtime(_models(PRICED), search=search_backend("https://example.org/"))
    outcome = await run_chat(plan(REQUEST, runtime), runtime)
    assert outcome.usage.to_wire() == {
        "prompt_tokens": 10 * CALLS,
        "completion_tokens": 5 * CALLS,
        "total_tokens": 15 * CALLS,
        "cost": 0.25 * CALLS,
        "server_tool_use_details": {
            "tool_calls_requested": 3,  # two web searches and the fusion call
            "tool_calls_executed": 3,
            "web_search_requests": 2,
        },
    }
    assert outcome.usage.calls == CALLS


async def test_usage_is_summed_from_upstreams_over_http_streaming_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same sums when every call crosses loopback HTTP (panel deltas make it stream)."""
    async with FakeUpstream(_models(PRICED)) as up:
        monkeypatch.setenv("OPENROUTER_BASE_URL", up.base_url)
        async with Parley(
            settings=load_settings(
                overrides={"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge"}
            ),
            search=search_backend("https://example.org/"),
        ) as p:
            events: list[Any] = []
            outcome = await p.chat(REQUEST, on_event=events.append)
    assert events  # the panel ran in streaming mode
    assert any(r.body.get("stream") for r in up.requests)
    wire = outcome.usage.to_wire()
    assert (wire["prompt_tokens"], wire["completion_tokens"]) == (10 * CALLS, 5 * CALLS)
    assert wire["cost"] == pytest.approx(0.25 * CALLS)
    assert wire["server_tool_use_details"]["web_search_requests"] == 2


async def test_cost_is_omitted_when_no_upstream_reports_it() -> None:
    runtime = make_runtime(_models(usage(10, 5)), search=search_backend("https://example.org/"))
    outcome = await run_chat(plan(REQUEST, runtime), runtime)
    assert "cost" not in outcome.usage.to_wire()
    assert outcome.usage.to_wire()["total_tokens"] == 15 * CALLS


async def test_usage_of_failed_panelists_still_counts() -> None:
    def fails_after_a_search(req: FakeRequest) -> Turn:
        if not req.tool_results:
            return _with_usage(tool_call("web_search", {"query": "sky"}), PRICED)
        return _with_usage("", PRICED)  # empty answer: a failure, but the tokens were spent

    models = _models(PRICED) | {"vendor/b": FunctionModel(fails_after_a_search)}
    runtime = make_runtime(models, search=search_backend("https://example.org/"))
    outcome = await run_chat(plan(REQUEST, runtime), runtime)
    assert outcome.deliberations[0].failed[0].model == "vendor/b"
    assert outcome.usage.to_wire()["prompt_tokens"] == 10 * CALLS


async def test_the_response_model_is_the_concrete_outer_model() -> None:
    models = _models(PRICED) | {"vendor/concrete": _outer(PRICED)}
    settings = load_settings(
        overrides={
            "preset": "mine",
            "presets": {
                "mine": {
                    "analysis_models": ["vendor/a", "vendor/b"],
                    "model": "vendor/judge",
                    "outer": "vendor/concrete",
                }
            },
        }
    )
    async with Parley(
        settings=settings, models=models, search=search_backend("https://x.org/")
    ) as p:
        outcome = await p.chat(
            {"model": "openrouter/fusion", "messages": [{"role": "user", "content": QUESTION}]}
        )
    assert outcome.model == "vendor/concrete"
