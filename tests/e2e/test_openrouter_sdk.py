"""OpenRouter's own TypeScript SDK (`@openrouter/sdk`, pinned in tests/node/package-lock.json)
against `parley serve` in front of a fake upstream: chat send with and without a stream, the
`openrouter/fusion` alias, the `openrouter:fusion` server tool, the `fusion` plugin, a 400
and other errors, the models list and the Responses API, each read without a validation
error.

The SDK checks every response with zod schemas, so a missing or mistyped field fails here
as it would in a user's program. tests/node/openrouter_sdk.mjs runs the scenarios and
prints one JSON line each; `npm ci --prefix tests/node` installs the SDK (the README's
test command does).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from conftest import isolate
from gateway_kit import Gateway, default_models, running
from parley.errors import UpstreamError
from parley.models.base import Turn
from parley.testing import (
    FakeFetcher,
    FakeRequest,
    FakeSearch,
    FakeUpstream,
    FunctionModel,
    tool_call,
    tool_calls,
)
from parley.testing.models import Reply
from parley.tools.web.protocols import SearchHit

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "openrouter_sdk.mjs"
SCENARIOS = [
    "chat",
    "chat_stream",
    "alias",
    "alias_stream",
    "server_tool",
    "server_tool_stream",
    "plugin",
    "function_call",
    "function_call_stream",
    "bad_request",
    "rate_limited",
    "chat_stream_error",
    "models",
    "responses",
    "responses_stream",
    "responses_function_call",
    "responses_fusion_failed",
    "responses_server_tools",
    "responses_stream_failed",
    "responses_rate_limited",
]
FUSION_EVENTS = [
    "response.fusion_call.in_progress",
    "response.fusion_call.panel.added",
    "response.fusion_call.panel.delta",
    "response.fusion_call.panel.reasoning.delta",
    "response.fusion_call.panel.completed",
    "response.fusion_call.panel.failed",
    "response.fusion_call.analysis.in_progress",
    "response.fusion_call.analysis.completed",
    "response.fusion_call.completed",
]
LIFECYCLE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.completed",
]
# The SDK's camelCase names for the analysis's five arrays.
ANALYSIS_KEYS = sorted(
    ["consensus", "contradictions", "partialCoverage", "uniqueInsights", "blindSpots"]
)
PAGE = "https://example.org/sky"


def models() -> dict[str, FunctionModel]:
    """The kit's models, plus a panelist that reasons, one that is rate limited, one that
    calls the client's function and one that calls three of OpenRouter's server tools."""

    def flaky(req: FakeRequest) -> Reply:
        raise UpstreamError("rate limited", 429)

    def thinker(req: FakeRequest) -> Reply:
        return Turn(
            content="Short wavelengths scatter more.",
            reasoning="Blue light has a shorter wavelength.",
            finish_reason="stop",
        )

    def weather(req: FakeRequest) -> Reply:
        return tool_call("get_weather", {"city": "Paris"}, call_id="call_1")

    def tooler(req: FakeRequest) -> Reply:
        if req.tool_results:
            return "Today the sky is blue."
        return tool_calls(
            [
                ("datetime", {"timezone": "Europe/Paris"}),
                ("web_search", {"query": "sky colour"}),
                ("web_fetch", {"url": PAGE}),
            ]
        )

    extra = {"flaky": flaky, "thinker": thinker, "weather": weather, "tooler": tooler}
    return {**default_models(), **{f"vendor/{k}": FunctionModel(f) for k, f in extra.items()}}


def web_tools() -> dict[str, Any]:
    """A search backend and a fetcher that answer from memory: no network."""
    hit = SearchHit(url=PAGE, title="Why the sky is blue", snippet="Rayleigh scattering.")
    return {
        "search": FakeSearch([hit]),
        "fetcher": FakeFetcher({PAGE: ("Why the sky is blue", "Rayleigh scattering.")}),
    }


# How upstreams describe their own models (GET /models), which the gateway's listing
# draws on: Together's numeric prices under names of its own, a Hugging Face router's
# architecture without `modality`, and an entry as OpenRouter writes it.
LISTINGS: dict[str, dict[str, Any]] = {
    "vendor/a": {
        "object": "model",
        "created": 1700000000,
        "type": "chat",
        "display_name": "Vendor A",
        "context_length": 8192,
        "pricing": {"hourly": 0, "input": 0.3, "output": 0.3, "base": 0, "finetune": 0},
    },
    "vendor/b": {
        "object": "model",
        "created": 1700000000,
        "owned_by": "vendor",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "providers": [{"provider": "x", "status": "live", "context_length": 32768}],
    },
    "vendor/judge": {
        "canonical_slug": "vendor/judge-20250514",
        "name": "Vendor: Judge",
        "created": 1747000000,
        "description": "A careful reader.",
        "context_length": 200000,
        "architecture": {
            "modality": "text+image->text",
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
            "tokenizer": "Claude",
            "instruct_type": None,
        },
        "pricing": {"prompt": "0.000003", "completion": "0.000015"},
        "top_provider": {
            "context_length": 200000,
            "max_completion_tokens": 64000,
            "is_moderated": True,
        },
        "per_request_limits": None,
        "supported_parameters": ["tools", "temperature"],
        "default_parameters": {"temperature": None},
        "supported_voices": None,
        "links": {"details": "/api/v1/models/vendor/judge/endpoints"},
    },
}


class ListingUpstream(FakeUpstream):
    """The fake upstream, describing its models as LISTINGS says."""

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, **LISTINGS.get(m, {"object": "model"})} for m in self.models]
        return web.json_response({"object": "list", "data": data})


@dataclass
class Run:
    """One gateway and what the SDK made of every scenario against it."""

    gw: Gateway
    lines: dict[str, dict[str, Any]]

    def __getitem__(self, scenario: str) -> dict[str, Any]:
        """The scenario's fields; the SDK's complaint, if it had one, fails the test."""
        line = self.lines[scenario]
        assert line["ok"], json.dumps(line, indent=1)
        return line


# One gateway and one Node process for the module: Node takes about two seconds to load
# the SDK, so a process per test would spend most of this file's time doing that.
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("env"))
        async with running(models(), upstream=ListingUpstream, **web_tools()) as gw:
            yield Run(gw, await sdk(gw, *SCENARIOS))


async def sdk(gw: Gateway, *scenarios: str) -> dict[str, dict[str, Any]]:
    """Each scenario's outcome line, by name. Node runs as a child process awaited on this
    loop: the fake upstream lives here too, so nothing may block it."""
    if not (NODE_DIR / "node_modules" / "@openrouter" / "sdk").is_dir():
        pytest.fail("@openrouter/sdk is not installed: run `npm ci --prefix tests/node`")
    try:
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            gw.url + "/api/v1",
            *scenarios,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=NODE_DIR,
        )
    except FileNotFoundError:
        pytest.fail("node is not installed: this test runs OpenRouter's SDK on Node 20+")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    found = {line["scenario"]: line for line in lines}
    assert list(found) == list(scenarios), (out.decode(), err.decode())
    return found


def test_chat_send_passes_a_plain_model_through(run: Run) -> None:
    whole, streamed = run["chat"], run["chat_stream"]
    assert whole["content"] == "A: Rayleigh scattering."
    assert whole["finishReason"] == "stop" and whole["totalTokens"] == 15
    assert streamed["content"] == "A: Rayleigh scattering."
    assert streamed["finishReasons"] == ["stop"] and streamed["ids"] == 1
    assert streamed["totalTokens"] == 15 and streamed["errors"] == []


@pytest.mark.parametrize(
    ("scenario", "panel"),
    [
        ("alias", 2),
        ("alias_stream", 2),  # with Parley's progress events, in comments
        ("server_tool", 1),  # its parameters name vendor/b alone
        ("server_tool_stream", 2),
        ("plugin", 2),
    ],
)
def test_each_way_into_fusion(run: Run, scenario: str, panel: int) -> None:
    line = run[scenario]
    answer = f"Final answer from {panel} panel responses."
    if scenario.endswith("_stream"):
        assert line["content"] == answer and line["finishReasons"] == ["stop"]
        assert line["ids"] == 1 and line["errors"] == []
    else:
        assert line["content"] == answer and line["finishReason"] == "stop"
        assert line["systemFingerprint"] is None
    # Every call is counted: the panel, the judge and the outer model's two turns.
    assert line["totalTokens"] == 15 * (panel + 3)


def test_the_server_tools_parameters_reach_the_panel(run: Run) -> None:
    assert run["server_tool"]["content"] == "Final answer from 1 panel responses."
    # Only the server_tool scenario asks for a panel temperature, and only of vendor/b.
    b = [r.body.get("temperature") for r in run.gw.models["vendor/b"].requests]
    assert b.count(0.3) == 1
    assert all("temperature" not in r.body for r in run.gw.models["vendor/a"].requests)


@pytest.mark.parametrize("scenario", ["function_call", "function_call_stream"])
def test_the_clients_function_call_comes_back(run: Run, scenario: str) -> None:
    line = run[scenario]
    [call] = line["calls"]
    assert call == {
        "id": "call_1",
        "type": "function",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    finish = line["finishReasons"] if scenario.endswith("_stream") else [line["finishReason"]]
    assert finish == ["tool_calls"]


def test_a_refused_request_is_the_sdks_bad_request_error(run: Run) -> None:
    line = run["bad_request"]
    assert line["error"] == "BadRequestResponseError", line
    assert line["status"] == 400 and line["code"] == 400
    assert "temperature" in line["message"]
    assert line["metadata"]["error_type"] == "invalid_request"


@pytest.mark.parametrize("scenario", ["rate_limited", "responses_rate_limited"])
def test_an_upstreams_429_is_the_sdks_too_many_requests_error(run: Run, scenario: str) -> None:
    line = run[scenario]
    assert line["error"] == "TooManyRequestsResponseError", line
    assert line["status"] == 429 and "rate limited" in line["message"]


def test_an_error_once_streaming_is_a_chunk_the_sdk_reads(run: Run) -> None:
    line = run["chat_stream_error"]
    assert line["finishReasons"] == ["error"]
    [error] = line["errors"]
    assert error["code"] == 429 and "rate limited" in error["message"]
    assert error["metadata"]["errorType"] == "rate_limit_exceeded"


def test_the_models_list_reads_whole_with_what_upstreams_say(run: Run) -> None:
    line = run["models"]
    assert line["pages"] == 1
    entries = line["entries"]
    for mid in ("openrouter/fusion", "vendor/outer", "vendor/a", "vendor/b", "vendor/judge"):
        assert mid in entries
    # Where an upstream's fields fit OpenRouter's schema they are taken, and where they
    # do not (Together's prices, a partial architecture) Parley's own stay.
    assert entries["vendor/judge"] == {
        "name": "Vendor: Judge",
        "contextLength": 200000,
        "modality": "text+image->text",
        "pricing": {"prompt": "0.000003", "completion": "0.000015"},
        "maxCompletionTokens": 64000,
    }
    assert entries["vendor/a"]["contextLength"] == 8192
    assert entries["vendor/a"]["pricing"] == {"prompt": "-1", "completion": "-1"}
    assert entries["vendor/b"]["modality"] == "text->text"


def test_responses_send(run: Run) -> None:
    line = run["responses"]
    assert line["status"] == "completed" and line["unknown"] == []
    assert line["outputTypes"] == ["openrouter:fusion", "message"]
    assert line["fusionStatus"] == "completed" and line["panel"] == ["vendor/a", "vendor/b"]
    assert line["analysisKeys"] == ANALYSIS_KEYS
    assert line["outputText"] == "Final answer from 2 panel responses."
    assert line["totalTokens"] == 15 * 5


def test_responses_stream_every_event_parsed(run: Run) -> None:
    line = run["responses_stream"]
    assert line["unknown"] == [], json.dumps(line["unknown"], indent=1)
    types = line["types"]
    for kind in LIFECYCLE + FUSION_EVENTS:
        assert kind in types, kind
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert line["sequence"] == list(range(1, len(types) + 1))
    # The failed panelist's event parses, with its status code; the SDK keeps only the
    # fields it knows, so the reason (in `message`: see parley.wire.responses_events) is
    # dropped and `error` is the empty string. The item's failed_models says why.
    [failed] = line["panelFailed"]
    assert failed["model"] == "vendor/flaky" and failed["statusCode"] == 429
    assert failed["error"] == "" and "message" not in failed
    final = line["final"]
    assert final["status"] == "completed" and final["unknown"] == []
    assert final["outputTypes"] == ["openrouter:fusion", "message"]
    assert final["panel"] == ["vendor/thinker"]
    assert final["failedModels"] == [
        {"model": "vendor/flaky", "error": "rate limited", "statusCode": 429}
    ]
    assert final["outputText"] == "Final answer from 1 panel responses."


def test_responses_function_call(run: Run) -> None:
    line = run["responses_function_call"]
    assert line["unknown"] == []
    assert "response.function_call_arguments.done" in line["types"]
    assert line["final"]["outputTypes"] == ["function_call"]
    assert line["calls"] == [
        {
            "callId": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "status": "completed",
        }
    ]


def test_responses_with_a_fusion_that_failed(run: Run) -> None:
    line = run["responses_fusion_failed"]
    assert line["unknown"] == [] and line["status"] == "completed"
    assert line["fusionStatus"] == "incomplete" and line["failureReason"] == "rate_limited"
    assert [f["model"] for f in line["failedModels"]] == ["vendor/flaky"]


def test_responses_server_tool_items_are_typed(run: Run) -> None:
    line = run["responses_server_tools"]
    assert line["unknown"] == [] and line["unknownItems"] == []
    final = line["final"]
    assert final["unknown"] == []
    assert final["outputTypes"] == [
        "openrouter:datetime",
        "openrouter:web_search",
        "openrouter:web_fetch",
        "message",
    ]
    clock, search, fetch = line["items"]
    assert clock["timezone"] == "Europe/Paris" and clock["datetime"]
    assert search["action"] == {
        "type": "search",
        "query": "sky colour",
        "sources": [{"type": "url", "url": PAGE}],
    }
    assert fetch["url"] == PAGE and fetch["title"] == "Why the sky is blue"
    assert {clock["status"], search["status"], fetch["status"]} == {"completed"}


def test_a_failed_responses_stream_ends_in_response_failed(run: Run) -> None:
    line = run["responses_stream_failed"]
    assert line["unknown"] == []
    assert line["types"] == ["response.created", "response.in_progress", "response.failed"]
    assert line["status"] == "failed"
    assert line["error"]["code"] == "rate_limit_exceeded"
    assert "rate limited" in line["error"]["message"]
