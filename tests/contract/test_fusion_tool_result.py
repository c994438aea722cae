"""Contract section 4: the tool result, partial failure, judge failure and all-fail reasons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from contract_kit import (
    ANALYSIS_JSON,
    FIVE_KEYS,
    PANEL,
    QUESTION,
    REQUEST_WAYS,
    WAYS,
    ask_fusion,
    failing,
    fleet,
    judge,
    make_runtime,
    panel_models,
    search_backend,
    searching,
    send,
)
from gateway_kit import fixed
from parley.client import deliberate
from parley.fusion.judge import Verdict
from parley.fusion.result import FusionResult, PanelResponse
from parley.fusion.run import Deliberation
from parley.testing import ANALYSIS
from parley.testing.models import FakeRequest, FunctionModel


def _wire(d: Deliberation) -> dict[str, Any]:
    assert d.result is not None
    return d.result.to_wire()


@pytest.mark.parametrize("way", WAYS)
async def test_success_returns_the_analysis_and_every_response(way: str) -> None:
    result = (await send(way, fleet(), ask_fusion())).result()
    assert result["status"] == "ok"
    assert result["analysis"] == ANALYSIS
    assert result["responses"] == [
        {"model": "vendor/a", "content": "A: Rayleigh scattering."},
        {"model": "vendor/b", "content": "B: short wavelengths scatter more."},
    ]
    for absent in ("failed_models", "failure_reason", "error"):
        assert absent not in result, absent


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


@pytest.mark.parametrize("way", WAYS)
async def test_some_panelists_fail_status_ok_with_failed_models(way: str) -> None:
    """With the upstream's status code and message."""
    models = fleet(b=failing(429, "Rate limit exceeded for vendor/b"))
    models["vendor/c"] = failing(500, "provider exploded")
    params = {"analysis_models": [*PANEL, "vendor/c"]}
    result = (await send(way, models, ask_fusion(**params))).result()
    assert result["status"] == "ok"
    assert result["analysis"] == ANALYSIS
    assert result["responses"] == [{"model": "vendor/a", "content": "A: Rayleigh scattering."}]
    assert result["failed_models"] == [
        {"model": "vendor/b", "error": "Rate limit exceeded for vendor/b", "status_code": 429},
        {"model": "vendor/c", "error": "provider exploded", "status_code": 500},
    ]


@pytest.mark.parametrize("empty", ["", "   \n\t"], ids=["empty", "blank"])
@pytest.mark.parametrize("way", WAYS)
async def test_a_panelist_that_returns_empty_text_counts_as_failed(way: str, empty: str) -> None:
    result = (await send(way, fleet(b=fixed(empty)), ask_fusion())).result()
    assert result["status"] == "ok"
    assert [r["model"] for r in result["responses"]] == ["vendor/a"]
    assert [f["model"] for f in result["failed_models"]] == ["vendor/b"]
    assert "empty" in result["failed_models"][0]["error"]


JUDGE_FAILURES: list[tuple[str, Callable[[], FunctionModel], int]] = [
    # A status not worth a retry, so that the one call is the judge's only one.
    ("judge_upstream_error", lambda: failing(403, "analyst not allowed"), 1),
    ("judge_empty_completion", lambda: judge(""), 2),
    ("judge_not_valid_json", lambda: judge("I think the models mostly agree."), 2),
    ("judge_schema_mismatch", lambda: judge('{"consensus": ["x"], "verdict": "fine"}'), 2),
]


@pytest.mark.parametrize(
    ("reason", "make_judge", "calls"), JUDGE_FAILURES, ids=[r for r, _, _ in JUDGE_FAILURES]
)
@pytest.mark.parametrize("way", WAYS)
async def test_judge_failure_keeps_responses_omits_analysis_and_says_why(
    way: str, reason: str, make_judge: Callable[[], FunctionModel], calls: int
) -> None:
    models = fleet(judge=make_judge())
    result = (await send(way, models, ask_fusion())).result()
    assert result["status"] == "ok"
    assert "analysis" not in result
    assert [r["model"] for r in result["responses"]] == PANEL
    assert result["failure_reason"] == reason
    assert len(models["vendor/judge"].requests) == calls  # upstream errors are not re-asked


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

ALL_FAIL = [
    ("all_panels_failed", [(500, "boom"), (None, "connection reset")]),
    ("rate_limited", [(429, "slow down"), (500, "boom")]),
    ("insufficient_credits", [(402, "insufficient credits"), (500, "boom")]),
    ("invalid_model", [(400, "vendor/a is not a valid model ID"), (500, "x")]),
]


@pytest.mark.parametrize(("reason", "errors"), ALL_FAIL, ids=[r for r, _ in ALL_FAIL])
@pytest.mark.parametrize("way", WAYS)
async def test_every_panelist_fails_error_with_a_reason(
    way: str, reason: str, errors: list[tuple[int | None, str]]
) -> None:
    """No judge without answers; a status-less failure (a reset) counts as neither 429
    nor 402."""
    models = fleet(a=failing(*errors[0]), b=failing(*errors[1]))
    result = (await send(way, models, ask_fusion())).result()
    _assert_all_failed(result, reason)
    assert len(result["failed_models"]) == 2
    assert models["vendor/judge"].requests == []


@pytest.mark.parametrize("way", WAYS)
async def test_a_panel_model_the_upstream_does_not_know_is_invalid_model(way: str) -> None:
    result = (await send(way, fleet(), ask_fusion(analysis_models=["vendor/nope"]))).result()
    _assert_all_failed(result, "invalid_model")
    assert result["failed_models"][0]["status_code"] == 404
    assert "not a valid model" in result["failed_models"][0]["error"]


def _assert_all_failed(out: dict[str, Any], reason: str) -> None:
    assert out["status"] == "error"
    assert out["failure_reason"] == reason
    assert out["error"].startswith("every panel model failed")
    assert "analysis" not in out
    assert "responses" not in out


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


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_sources_are_deduplicated_by_url_across_panel_and_judge(way: str) -> None:
    shared, only_a = "https://example.org/shared", "https://example.org/a"
    search = search_backend(shared, only_a)
    models = fleet(
        a=searching("q", "A"), b=searching("q", "B"), judge=searching("check", ANALYSIS_JSON)
    )
    result = (await send(way, models, ask_fusion(), search=search)).result()
    assert len(search.queries) == 3  # two panelists and the judge all searched
    assert result["sources"] == [
        {"url": shared, "title": f"title of {shared}"},
        {"url": only_a, "title": f"title of {only_a}"},
    ]


def test_optional_parts_are_omitted_not_null() -> None:
    out = FusionResult(status="ok", responses=[PanelResponse(model="m", content="c")]).to_wire()
    assert out == {"status": "ok", "responses": [{"model": "m", "content": "c"}]}
    assert None not in json.loads(json.dumps(out)).values()
