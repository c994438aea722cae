"""Contract section 4, the judge's part: its output is analysis JSON with all five keys,
repaired where it can be, and a recorded reason for every way it can fail."""

from __future__ import annotations

import json

import pytest

from contract_kit import QUESTION, make_runtime, panel_models
from parley.client import deliberate
from parley.errors import UpstreamError
from parley.fusion.judge import SCHEMA, judge_messages, read_verdict
from parley.fusion.result import Analysis, PanelResponse
from parley.testing import ANALYSIS, ANALYSIS_JSON
from parley.testing.models import FakeRequest, FunctionModel

REPAIRABLE = {
    "plain": ANALYSIS_JSON,
    "fenced": f"```json\n{ANALYSIS_JSON}\n```",
    "fenced without language": f"```\n{ANALYSIS_JSON}\n```",
    "prose around": f"Here is the analysis:\n{ANALYSIS_JSON}\nHope this helps.",
    "trailing commas": ANALYSIS_JSON.replace("]", ", ]").replace("}", ",}"),
    "wrapped in analysis": json.dumps({"analysis": ANALYSIS}),
}


@pytest.mark.parametrize("text", REPAIRABLE.values(), ids=REPAIRABLE.keys())
def test_repairable_output_is_read(text: str) -> None:
    verdict = read_verdict(text)
    assert verdict.failure_reason is None
    assert verdict.analysis == Analysis.model_validate(ANALYSIS)


BROKEN = {
    "empty": ("", "judge_empty_completion"),
    "whitespace": ("  \n", "judge_empty_completion"),
    "prose": ("The models agree.", "judge_not_valid_json"),
    "truncated": (ANALYSIS_JSON[:40], "judge_not_valid_json"),
    "a list": ("[1, 2]", "judge_schema_mismatch"),
    "wrong type": (json.dumps({**ANALYSIS, "consensus": "yes"}), "judge_schema_mismatch"),
    "bad stance": (
        json.dumps({**ANALYSIS, "contradictions": [{"topic": "t", "stances": [{"m": 1}]}]}),
        "judge_schema_mismatch",
    ),
}


@pytest.mark.parametrize(("text", "reason"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_output_has_a_reason(text: str, reason: str) -> None:
    verdict = read_verdict(text)
    assert verdict.analysis is None
    assert verdict.failure_reason == reason
    assert verdict.detail


def test_a_missing_key_is_named_in_the_detail() -> None:
    verdict = read_verdict(json.dumps({k: v for k, v in ANALYSIS.items() if k != "blind_spots"}))
    assert verdict.failure_reason == "judge_schema_mismatch"
    assert "blind_spots" in verdict.detail


def test_the_schema_requires_all_five_keys_and_nothing_else() -> None:
    assert set(SCHEMA["required"]) == set(ANALYSIS) == set(SCHEMA["properties"])
    assert SCHEMA["additionalProperties"] is False


def test_the_prompt_labels_each_answer_with_its_model() -> None:
    responses = [
        PanelResponse(model="v/a", content="one"),
        PanelResponse(model="v/b", content="two"),
    ]
    system, user = judge_messages(QUESTION, responses)
    assert system["role"] == "system" and user["role"] == "user"
    assert user["content"].index('model="v/a"') < user["content"].index('model="v/b"')


async def test_other_client_errors_from_the_judge_are_not_retried() -> None:
    def bad(req: FakeRequest) -> str:
        raise UpstreamError("context too long", 400)

    j = FunctionModel(bad)
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=j)))
    assert d.result is not None and d.result.failure_reason == "judge_upstream_error"
    assert len(j.requests) == 1
    assert "context too long" in d.judge_detail


@pytest.mark.parametrize(
    "message",
    [
        "response_format json_schema is not supported",
        "Unrecognized request argument supplied: response_format",
        "this server does not support json_schema",
    ],
)
async def test_a_server_without_structured_outputs_is_asked_without_the_schema(
    message: str,
) -> None:
    def picky(req: FakeRequest) -> str:
        if "response_format" in req.body:
            raise UpstreamError(message, 400)
        return ANALYSIS_JSON

    j = FunctionModel(picky)
    d = await deliberate(QUESTION, runtime=make_runtime(panel_models(judge=j)))
    assert d.result is not None and d.result.analysis is not None
    assert ["response_format" in r.body for r in j.requests] == [True, False]
