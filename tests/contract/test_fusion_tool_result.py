"""Contract section 4: the tool result, partial failure, judge failure and all-fail reasons."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from contract_kit import (
    ANALYSIS,
    ANALYSIS_JSON,
    FIVE_KEYS,
    QUESTION,
    answer,
    failing,
    judge,
    make_runtime,
    panel_models,
    search_backend,
    searching,
)
from parley.client import deliberate
from parley.config import load_settings
from parley.errors import UpstreamError
from parley.fusion.judge import Verdict
from parley.fusion.result import FusionResult, PanelResponse
from parley.fusion.run import Deliberation
from parley.http import new_session
from parley.models.base import ChatModel
from parley.runtime import Setup, build
from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.upstream import FakeUpstream


def _wire(d: Deliberation) -> dict[str, Any]:
    assert d.result is not None
    return d.result.to_wire()


async def test_success_returns_analysis_and_every_response() -> None:
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models()))
    out = _wire(d)
    assert out["status"] == "ok"
    assert out["analysis"] == ANALYSIS
    assert out["responses"] == [
        {"model": "vendor/a", "content": "A: Rayleigh scattering."},
        {"model": "vendor/b", "content": "B: Short wavelengths scatter more."},
    ]
    assert "failed_models" not in out and "failure_reason" not in out and "error" not in out


@pytest.mark.parametrize("missing", sorted(FIVE_KEYS))
async def test_analysis_missing_any_of_the_five_keys_is_invalid(missing: str) -> None:
    partial = {k: v for k, v in ANALYSIS.items() if k != missing}
    d = await deliberate(
        QUESTION, runtime=make_runtime(panel_models(judge=judge(json.dumps(partial))))
    )
    out = _wire(d)
    assert "analysis" not in out
    assert out["failure_reason"] == "judge_schema_mismatch"
    assert missing in d.judge_detail


async def test_some_panelists_fail_status_ok_with_failed_models() -> None:
    models = panel_models(b=failing(429, "rate limit exceeded")) | {
        "vendor/c": failing(500, "provider exploded")
    }
    d = await deliberate(
        QUESTION, runtime=make_runtime(models, panel=["vendor/a", "vendor/b", "vendor/c"])
    )
    out = _wire(d)
    assert out["status"] == "ok"
    assert out["analysis"] == ANALYSIS
    assert out["responses"] == [{"model": "vendor/a", "content": "A: Rayleigh scattering."}]
    assert out["failed_models"] == [
        {"model": "vendor/b", "error": "rate limit exceeded", "status_code": 429},
        {"model": "vendor/c", "error": "provider exploded", "status_code": 500},
    ]


@pytest.mark.parametrize("empty", ["", "   \n\t"])
async def test_a_panelist_that_returns_empty_text_counts_as_failed(empty: str) -> None:
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(b=answer(empty))))
    out = _wire(d)
    assert out["status"] == "ok"
    assert [r["model"] for r in out["responses"]] == ["vendor/a"]
    assert [f["model"] for f in out["failed_models"]] == ["vendor/b"]
    assert "empty" in out["failed_models"][0]["error"]


def _judge_raising(status: int, message: str) -> FunctionModel:
    def reply(req: FakeRequest) -> str:
        raise UpstreamError(message, status)

    return FunctionModel(reply)


JUDGE_FAILURES: list[tuple[str, ChatModel, int]] = [
    ("judge_upstream_error", _judge_raising(503, "analyst overloaded"), 1),
    ("judge_empty_completion", judge(""), 2),
    ("judge_not_valid_json", judge("I think the models mostly agree."), 2),
    ("judge_schema_mismatch", judge('{"consensus": ["x"], "verdict": "fine"}'), 2),
]


@pytest.mark.parametrize(
    ("reason", "judge_model", "calls"), JUDGE_FAILURES, ids=[r for r, _, _ in JUDGE_FAILURES]
)
async def test_judge_failure_keeps_responses_omits_analysis_and_records_why(
    reason: str, judge_model: FunctionModel, calls: int
) -> None:
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=judge_model)))
    out = _wire(d)
    assert out["status"] == "ok"
    assert "analysis" not in out
    assert [r["model"] for r in out["responses"]] == ["vendor/a", "vendor/b"]
    assert out["failure_reason"] == reason
    assert d.judge_detail
    assert len(judge_model.requests) == calls  # upstream errors are not re-asked


async def test_judge_output_is_repaired_fences_and_trailing_commas() -> None:
    sloppy = "```json\n" + ANALYSIS_JSON.replace("]", ",]").replace("}", ",}") + "\n```"
    j = judge(sloppy)
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=j)))
    assert _wire(d)["analysis"] == ANALYSIS
    assert len(j.requests) == 1


async def test_judge_is_reasked_once_and_the_second_answer_is_used() -> None:
    def reply(req: FakeRequest) -> str:
        return "Here is my analysis: consensus is strong." if req.call_index == 0 else ANALYSIS_JSON

    j = FunctionModel(reply)
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=j)))
    out = _wire(d)
    assert out["analysis"] == ANALYSIS
    assert "failure_reason" not in out
    assert len(j.requests) == 2
    reask = j.requests[1]
    assert reask.messages[-2] == {
        "role": "assistant",
        "content": "Here is my analysis: consensus is strong.",
    }
    assert reask.messages[-1]["role"] == "user"
    assert "could not be used" in reask.messages[-1]["content"]
    assert reask.body["temperature"] == 0.0


async def test_judge_that_crashes_still_keeps_the_panel() -> None:
    def reply(req: FakeRequest) -> str:
        raise KeyError("a bug in the judge's adapter")

    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=FunctionModel(reply))))
    out = _wire(d)
    assert out["status"] == "ok" and len(out["responses"]) == 2
    assert out["failure_reason"] == "judge_upstream_error"


# --- every panelist fails -----------------------------------------------------------------


def _assert_all_failed(out: dict[str, Any], reason: str) -> None:
    assert out["status"] == "error"
    assert out["failure_reason"] == reason
    assert out["error"].startswith("every panel model failed")
    assert "analysis" not in out
    assert "responses" not in out


ALL_FAIL = [
    ("all_panels_failed", failing(500, "boom"), failing(None, "connection reset")),
    ("rate_limited", failing(429, "slow down"), failing(500, "boom")),
    ("insufficient_credits", failing(402, "insufficient credits"), failing(500, "boom")),
    ("invalid_model", failing(400, "vendor/a is not a valid model ID"), failing(500, "x")),
]


@pytest.mark.parametrize(("reason", "a", "b"), ALL_FAIL, ids=[r for r, _, _ in ALL_FAIL])
async def test_every_panelist_fails_error_with_reason(
    reason: str, a: FunctionModel, b: FunctionModel
) -> None:
    j = judge()
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(a=a, b=b, judge=j)))
    out = _wire(d)
    _assert_all_failed(out, reason)
    assert len(out["failed_models"]) == 2
    assert j.requests == []  # no judge without answers


async def test_unknown_model_on_the_upstream_is_invalid_model() -> None:
    async with FakeUpstream({}) as up, new_session() as session:  # it knows no model: 404s
        env = {"OPENROUTER_BASE_URL": up.base_url}
        settings = load_settings(env, overrides={"panel": ["vendor/nope"]})
        runtime = build(Setup(settings=settings), session)
        d = await deliberate(QUESTION, runtime=runtime)
    out = _wire(d)
    _assert_all_failed(out, "invalid_model")
    assert out["failed_models"][0]["status_code"] == 404
    assert "not a valid model" in out["failed_models"][0]["error"]


async def test_a_cancelled_deliberation_records_cancelled() -> None:
    started = asyncio.Event()
    never = asyncio.Event()

    async def hang(req: FakeRequest) -> str:
        started.set()
        await never.wait()
        return "unreachable"

    runtime = make_runtime(panel_models(a=FunctionModel(hang), b=FunctionModel(hang)))
    d = Deliberation(runtime, QUESTION)
    task = asyncio.create_task(d.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    out = _wire(d)
    assert out["status"] == "error"
    assert out["failure_reason"] == "cancelled"


class _BuggyJudgeStep(Deliberation):
    """A deliberation with a bug past the panel, to show a bug still yields a result."""

    async def _judge(self, responses: list[PanelResponse]) -> Verdict:
        raise RuntimeError("a bug")


async def test_a_bug_in_the_run_is_unexpected_error_with_the_answers_kept() -> None:
    d = _BuggyJudgeStep(make_runtime(panel_models()), QUESTION)
    result = await d.run()
    out = result.to_wire()
    assert out["status"] == "error"
    assert out["failure_reason"] == "unexpected_error"
    assert "RuntimeError: a bug" in out["error"]
    assert len(out["responses"]) == 2


async def test_sources_are_deduplicated_by_url_across_panel_and_judge() -> None:
    shared, only_a = "https://example.org/shared", "https://example.org/a"
    search = search_backend(shared, only_a)
    j = searching("check", ANALYSIS_JSON)
    models = panel_models(a=searching("q", "A"), b=searching("q", "B"), judge=j)
    d = await deliberate(QUESTION, runtime=make_runtime(models, search=search))
    out = _wire(d)
    assert len(search.queries) == 3  # two panelists and the judge all searched
    assert out["sources"] == [
        {"url": shared, "title": f"title of {shared}"},
        {"url": only_a, "title": f"title of {only_a}"},
    ]


def test_optional_parts_are_omitted_not_null() -> None:
    out = FusionResult(status="ok", responses=[PanelResponse(model="m", content="c")]).to_wire()
    assert out == {"status": "ok", "responses": [{"model": "m", "content": "c"}]}
    assert None not in json.loads(json.dumps(out)).values()


async def test_partial_failure_over_http_keeps_the_upstream_status_and_message() -> None:
    models = panel_models(b=failing(429, "Rate limit exceeded for vendor/b"))
    async with FakeUpstream(models) as up, new_session() as session:
        env = {"OPENROUTER_BASE_URL": up.base_url}
        settings = load_settings(
            env, overrides={"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge"}
        )
        runtime = build(Setup(settings=settings), session)
        d = await deliberate(QUESTION, runtime=runtime)
    out = _wire(d)
    assert out["status"] == "ok" and out["analysis"] == ANALYSIS
    assert out["failed_models"] == [
        {"model": "vendor/b", "error": "Rate limit exceeded for vendor/b", "status_code": 429}
    ]
