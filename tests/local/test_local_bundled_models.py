"""The bundled GGUF models, end to end (slow: run with -m local_models, skip with the inverse).

Token budgets are kept short so the whole file runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from cli_kit import run_parley
from parley.config import LocalConfig, load_settings
from parley.errors import UnknownModelError
from parley.fusion.judge import RESPONSE_FORMAT, judge_messages, read_verdict
from parley.fusion.result import PanelResponse
from parley.models.base import ChatModel, TurnBuilder
from parley.models.local.model import LocalChatModel, local_model
from parley.providers import Router
from parley.testing import ANALYSIS

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.local_models

SMOL = "local/smollm2-135m-instruct"
GEMMA = "local/gemma-3-270m"
USER = [{"role": "user", "content": "Name three colours of the rainbow."}]


@pytest.fixture(scope="module")
def smol() -> LocalChatModel:
    return local_model(SMOL, LocalConfig())


async def test_complete_returns_an_answer_with_usage(smol: LocalChatModel) -> None:
    turn = await smol.complete({"messages": USER, "max_tokens": 16, "temperature": 0}, {})
    assert turn.model == SMOL
    assert turn.content.strip()
    assert turn.finish_reason in ("stop", "length")
    usage = turn.usage
    assert usage is not None
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 16
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_stream_ends_with_the_finish_and_usage(smol: LocalChatModel) -> None:
    deltas = [d async for d in smol.stream({"messages": USER, "max_tokens": 8}, {})]
    assert any(d.text for d in deltas[:-1])
    assert deltas[-1].finish_reason in ("stop", "length")
    assert deltas[-1].usage is not None and deltas[-1].usage["completion_tokens"] > 0


async def test_stop_sequence_cuts_the_answer_before_it(smol: LocalChatModel) -> None:
    body: dict[str, Any] = {"messages": USER, "max_tokens": 24, "temperature": 0}
    full = (await smol.complete(body, {})).content
    assert len(full) > 12
    stop = full[8:12]
    cut = await smol.complete({**body, "stop": [stop]}, {})
    assert cut.content == full[: full.index(stop)]
    assert cut.finish_reason == "stop"


async def test_judge_json_is_valid_even_when_the_budget_cuts_it(smol: LocalChatModel) -> None:
    responses = [
        PanelResponse(model="a", content="Rayleigh scattering makes the sky blue."),
        PanelResponse(model="b", content="The sky reflects the ocean."),
    ]
    body = {
        "messages": judge_messages("Why is the sky blue?", responses),
        "response_format": RESPONSE_FORMAT,
        "temperature": 0,
        "max_tokens": 24,
    }
    turn = await smol.complete(body, {})
    verdict = read_verdict(turn.content)
    assert verdict.analysis is not None, verdict.detail


async def test_offered_tools_get_a_text_answer_and_forced_ones_a_call(smol: LocalChatModel) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "fusion",
            "description": "Ask a panel.",
            "parameters": {
                "type": "object",
                "properties": {"question": {"type": "string"}},
                "required": ["question"],
            },
        },
    }
    body = {"messages": USER, "tools": [tool], "max_tokens": 8}
    free = await smol.complete(body, {})
    assert free.content
    forced = await smol.complete(
        {**body, "tool_choice": {"type": "function", "function": {"name": "fusion"}}}, {}
    )
    call = forced.tool_calls[0]
    assert forced.finish_reason == "tool_calls"
    assert json.loads(call.arguments) == {"question": USER[0]["content"]}


async def test_concurrent_requests_to_one_model_all_finish(smol: LocalChatModel) -> None:
    prompts = [[{"role": "user", "content": f"Say something about {w}."}] for w in "abc"]
    results = await asyncio.gather(
        *(smol.complete({"messages": p, "max_tokens": 12}, {}) for p in prompts)
    )
    assert all(r.content for r in results)


async def test_base_model_answers_from_a_plain_prompt() -> None:
    gemma = local_model(GEMMA, LocalConfig())
    builder = TurnBuilder()
    async for delta in gemma.stream({"messages": USER, "max_tokens": 12, "temperature": 0}, {}):
        builder.feed(delta)
    turn = builder.finish()
    assert turn.content.strip()
    assert "User:" not in turn.content


def test_router_resolves_local_ids_and_rejects_unknown_ones() -> None:
    router = Router(load_settings({}), None)
    assert isinstance(router.resolve(SMOL), ChatModel)
    with pytest.raises(UnknownModelError, match="local/gemma-3-270m"):
        router.resolve("local/not-a-model")


def test_offline_ask_runs_a_whole_deliberation_with_no_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["HF_HUB_OFFLINE"] = "1"  # belt and braces: nothing here may download
    out = run_parley(env, "ask", "--json", "Is tea healthy?", timeout=300)
    assert out.returncode == 0, out.stderr
    assert "offline demo models" in out.stderr
    result = json.loads(out.stdout)
    assert result["answer"].strip()
    fusion = result["fusion"]
    assert fusion["status"] == "ok"
    assert {r["model"] for r in fusion["responses"]} == {SMOL, GEMMA}
    assert set(fusion["analysis"]) == set(ANALYSIS)  # the five keys
