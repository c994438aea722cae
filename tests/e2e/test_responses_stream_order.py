"""The exact order of a Responses stream for a fusion run in which one panelist fails: no
lifecycle step is missing, every fusion event is where OpenRouter puts it, and the failed
panelist does not end the stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from gateway_kit import settings
from parley.errors import UpstreamError
from parley.gateway import create_app
from parley.runtime import Setup
from parley.testing import ANALYSIS_JSON, FakeRequest, FunctionModel, ServerThread, tool_call

GOLDEN = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",  # the fusion item, in progress
    "response.fusion_call.in_progress",
    "response.fusion_call.panel.added",  # vendor/a
    "response.fusion_call.panel.added",  # vendor/b
    "response.fusion_call.panel.failed",  # vendor/b: 429, and the stream goes on
    "response.fusion_call.panel.delta",  # vendor/a, word by word
    "response.fusion_call.panel.delta",
    "response.fusion_call.panel.completed",
    "response.fusion_call.analysis.in_progress",
    "response.fusion_call.analysis.completed",
    "response.fusion_call.completed",
    "response.output_item.done",  # the fusion item, with its result
    "response.output_item.added",  # the message
    "response.content_part.added",
    "response.output_text.delta",  # "Blue ", "light. ", "Scatters."
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def models() -> dict[str, FunctionModel]:
    failed = asyncio.Event()

    async def a(req: FakeRequest) -> str:
        await failed.wait()  # speaks only once b has failed: the order is fixed
        return "Rayleigh scattering."

    def b(req: FakeRequest) -> str:
        failed.set()
        raise UpstreamError("vendor/b: rate limited", 429)

    def outer(req: FakeRequest) -> Any:
        if not req.tool_results:
            return tool_call("fusion", {"question": req.last_user})
        return "Blue light. Scatters."

    return {
        "vendor/a": FunctionModel(a),
        "vendor/b": FunctionModel(b),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
        "vendor/outer": FunctionModel(outer),
    }


async def test_the_stream_of_a_fusion_run_with_a_failed_panelist() -> None:
    app = create_app(Setup(settings=settings(), models=models()))
    body = {"model": "openrouter/fusion", "input": "Why is the sky blue?", "stream": True}
    async with (
        ServerThread(app) as url,
        aiohttp.ClientSession() as s,
        s.post(url + "/v1/responses", json=body) as r,
    ):
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        text = (await r.read()).decode()
    events = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines or lines[0].startswith(":"):
            continue  # heartbeats
        name = lines[0].removeprefix("event: ")
        data = json.loads(lines[1].removeprefix("data: "))
        assert data["type"] == name
        events.append(data)
    assert [e["type"] for e in events] == GOLDEN
    assert [e["sequence_number"] for e in events] == list(range(1, len(GOLDEN) + 1))
    failed = next(e for e in events if e["type"].endswith("panel.failed"))
    # Falsy `error` (the OpenAI SDKs would end the stream on a truthy one), the reason in
    # `message`, as every SDK can read it.
    assert failed["error"] == "" and "rate limited" in failed["message"]
    assert failed["status_code"] == 429 and failed["model"] == "vendor/b"
    final = events[-1]["response"]
    fusion, message = final["output"]
    assert fusion["type"] == "openrouter:fusion" and fusion["status"] == "completed"
    assert [f["model"] for f in fusion["failed_models"]] == ["vendor/b"]
    assert message["content"][0]["text"] == "Blue light. Scatters."
    ids = {e["response"]["id"] for e in events if "response" in e}
    assert len(ids) == 1
