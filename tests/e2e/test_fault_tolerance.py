"""Faults a user meets with fusion, driven through the gateway with the openai SDK against a
fault-injecting upstream on loopback: a 429 with `Retry-After` and a 500 that passes on the
next try are retried to success; a hung member is dropped at `deadline_s` and a slow one
once a `quorum` has answered (their calls cancelled); a stream cut before its end is
retried, not believed; an outer model that keeps failing after the panel finished still
hands over the panel's work, in the error on Chat Completions and in the output on
Responses, and the run is logged.

Synchronised by events (`Gate`) and by the answers themselves; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway_kit import ANALYSIS, USAGE, USER, Gate, default_models, fixed, running
from parley.errors import UpstreamError
from parley.models.base import Turn
from parley.store import LogStore
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.upstream import RawModel, RawReply, Recorded
from parley.testing.web import FakeSearch
from parley.wire.chat_response import response_of_turn

FUSION = [{"type": "openrouter:fusion"}]


def ok(text: str, model: str = "vendor/a") -> RawReply:
    turn = Turn(content=text, finish_reason="stop", usage=dict(USAGE))
    return RawReply(json.dumps(response_of_turn(turn, model)).encode())


def error(status: int, headers: dict[str, str] | None = None) -> RawReply:
    body = json.dumps({"error": {"message": f"injected {status}", "code": status}}).encode()
    return RawReply(body, status=status, headers=headers or {})


def scripted(*replies: RawReply) -> RawModel:
    """Replies in order, the last one again for every later call."""
    queue: Iterator[RawReply] = iter(replies)
    last = replies[-1]

    def reply(_: Recorded) -> RawReply:
        return next(queue, last)

    return RawModel(reply)


def fusion_body(**params: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "openrouter:fusion"}
    if params:
        tool["parameters"] = params
    return {"model": "vendor/outer", "messages": USER, "tools": [tool]}


def result_of(outer_requests: list[FakeRequest]) -> dict[str, Any]:
    """The fusion result the outer model read."""
    return json.loads(outer_requests[-1].tool_results[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "first",
    [error(429, {"Retry-After": "1"}), error(500), error(503), RawReply(b"", then="reset")],
    ids=["429 with Retry-After", "500", "503", "connection reset"],
)
async def test_a_transient_failure_of_a_panelist_is_retried_to_success(first: RawReply) -> None:
    flaky = scripted(first, ok("A: Rayleigh scattering."))
    async with running({**default_models(), "vendor/a": flaky}) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body())
        assert answer.choices[0].message.content == "Final answer from 2 panel responses."
        assert len(flaky.requests) == 2
        result = result_of(gw.models["vendor/outer"].requests)  # type: ignore[union-attr]
        assert result.get("failed_models", []) == []


async def test_a_passthrough_call_is_retried_after_a_500() -> None:
    flaky = scripted(error(500), ok("fine now", "vendor/flaky"))
    async with running({**default_models(), "vendor/flaky": flaky}) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(model="vendor/flaky", messages=USER)
        assert answer.choices[0].message.content == "fine now"
        assert len(flaky.requests) == 2


async def test_a_request_error_is_not_retried() -> None:
    bad = scripted(error(400), ok("never"))
    async with running({**default_models(), "vendor/bad": bad}) as gw, gw.sdk() as client:
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="vendor/bad", messages=USER)
        assert len(bad.requests) == 1


async def test_a_panelist_that_keeps_failing_lands_in_failed_models_with_its_status() -> None:
    down = scripted(error(502))
    async with running({**default_models(), "vendor/a": down}) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body())
        assert answer.choices[0].message.content == "Final answer from 1 panel responses."
        assert len(down.requests) == 3  # the first try and two retries
        (failed,) = result_of(gw.models["vendor/outer"].requests)["failed_models"]  # type: ignore[union-attr]
        assert failed["model"] == "vendor/a" and failed["status_code"] == 502


async def test_a_stream_cut_before_its_end_is_not_taken_for_an_answer() -> None:
    chunk = {"id": "x", "object": "chat.completion.chunk"}
    chunk["choices"] = [{"index": 0, "delta": {"content": "A: half an"}}]
    cut = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    member = scripted(RawReply(cut, content_type="text/event-stream", then="reset"))
    async with running({**default_models(), "vendor/a": member}) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body())
        result = result_of(gw.models["vendor/outer"].requests)  # type: ignore[union-attr]
        assert [r["model"] for r in result["responses"]] == ["vendor/b"]
        assert [f["model"] for f in result["failed_models"]] == ["vendor/a"]
        assert answer.choices[0].message.content == "Final answer from 1 panel responses."


async def test_a_stream_cut_once_is_tried_again_when_nobody_heard_it() -> None:
    chunk = {"id": "x", "object": "chat.completion.chunk"}
    chunk["choices"] = [{"index": 0, "delta": {"content": "A: half an"}}]
    cut = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    member = scripted(
        RawReply(cut, content_type="text/event-stream", then="reset"), ok("A: Rayleigh.")
    )
    async with running({**default_models(), "vendor/a": member}) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body())
        result = result_of(gw.models["vendor/outer"].requests)  # type: ignore[union-attr]
    assert answer.choices[0].message.content == "Final answer from 2 panel responses."
    assert [r["content"] for r in result["responses"] if r["model"] == "vendor/a"] == [
        "A: Rayleigh."
    ]
    assert len(member.requests) == 2


async def test_a_hung_member_is_dropped_at_the_deadline_and_its_call_cancelled() -> None:
    gate = Gate(expected=1)
    models = {**default_models(), "vendor/a": gate.model()}
    async with running(models) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body(deadline_s=1))
        assert answer.choices[0].message.content == "Final answer from 1 panel responses."
        result = result_of(gw.models["vendor/outer"].requests)  # type: ignore[union-attr]
        assert [r["model"] for r in result["responses"]] == ["vendor/b"]
        (failed,) = result["failed_models"]
        assert failed["model"] == "vendor/a"
        assert failed["error"].startswith("timeout: no answer within the deadline of 1 s")
        await asyncio.wait_for(gate.gone.wait(), 10)  # its upstream call was cancelled


async def test_a_quorum_proceeds_without_the_slow_member() -> None:
    gate = Gate(expected=1)
    models = {
        **default_models(),
        "vendor/c": fixed("C: blue light scatters."),
        "vendor/a": gate.model(),
    }
    async with running(models) as gw, gw.sdk() as client:
        body = fusion_body(models=["vendor/a", "vendor/b", "vendor/c"], quorum=2)
        answer = await client.chat.completions.create(**body)
        assert answer.choices[0].message.content == "Final answer from 2 panel responses."
        result = result_of(gw.models["vendor/outer"].requests)  # type: ignore[union-attr]
        assert sorted(r["model"] for r in result["responses"]) == ["vendor/b", "vendor/c"]
        (failed,) = result["failed_models"]
        assert failed["model"] == "vendor/a" and "quorum of 2" in failed["error"]
        await asyncio.wait_for(gate.gone.wait(), 10)


def outer_failing_after_fusion(failures: int) -> FunctionModel:
    """Calls fusion, then fails its next `failures` calls with a 500, then answers."""
    seen = {"failed": 0}

    def reply(req: FakeRequest) -> Turn:
        if not req.tool_results:
            return tool_call("fusion", {"question": req.last_user})
        if seen["failed"] < failures:
            seen["failed"] += 1
            raise UpstreamError("injected outage", 500)
        n = len(json.loads(req.tool_results[-1])["responses"])
        return Turn(content=f"Final answer from {n} panel responses.", finish_reason="stop")

    return FunctionModel(reply)


async def test_an_outer_model_failing_twice_after_the_panel_is_retried_to_an_answer() -> None:
    models = {**default_models(), "vendor/outer": outer_failing_after_fusion(2)}
    async with running(models) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**fusion_body())
        assert answer.choices[0].message.content == "Final answer from 2 panel responses."
        assert gw.calls("vendor/a") == 1 and gw.calls("vendor/b") == 1  # the panel ran once


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_when_the_outer_model_stays_down_the_chat_error_carries_the_fusion_result(
    stream: bool,
) -> None:
    models = {**default_models(), "vendor/outer": outer_failing_after_fusion(99)}
    async with running(models) as gw, gw.sdk() as client:
        with pytest.raises(openai.APIError) as caught:
            answer = await client.chat.completions.create(**fusion_body(), stream=stream)
            if stream:
                async for _ in answer:  # type: ignore[union-attr]
                    pass
        body: Any = caught.value.body
        err = body.get("error", body)  # the SDK unwraps `error` for a whole answer
        assert "injected outage" in err["message"]
        (fusion,) = err["metadata"]["fusion"]
        assert fusion["status"] == "ok"
        assert sorted(r["model"] for r in fusion["responses"]) == ["vendor/a", "vendor/b"]
        assert fusion["analysis"] == json.loads(ANALYSIS)
        assert gw.calls("vendor/a") == 1 and gw.calls("vendor/b") == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_when_the_outer_model_stays_down_a_response_keeps_its_fusion_item(
    stream: bool,
) -> None:
    models = {**default_models(), "vendor/outer": outer_failing_after_fusion(99)}
    async with running(models) as gw, gw.sdk() as client:
        kw: dict[str, Any] = {"model": "vendor/outer", "input": "Why is the sky blue?"}
        kw["tools"] = FUSION
        if stream:
            events = [e async for e in await client.responses.create(**kw, stream=True)]
            response = events[-1].response  # type: ignore[union-attr]
            assert events[-1].type == "response.failed"
        else:
            response = await client.responses.create(**kw)
        assert response.status == "failed"
        assert response.error is not None and "injected outage" in response.error.message
        fusion = [item for item in response.output if item.type == "openrouter:fusion"]
        assert len(fusion) == 1


async def test_a_run_that_failed_after_its_panel_is_logged(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "log.db")
    models = {**default_models(), "vendor/outer": outer_failing_after_fusion(99)}
    async with running(models, log_store=store) as gw, gw.sdk() as client:
        with pytest.raises(openai.APIError):
            await client.chat.completions.create(**fusion_body())
    (entry,) = store.recent(10)
    assert entry.status == "error" and "injected outage" in (entry.error or "")
    (d,) = store.get(entry.id).deliberations
    assert sorted(a.model for a in d.responses) == ["vendor/a", "vendor/b"]


def searcher() -> FunctionModel:
    """A panelist that searches whenever it may, then answers."""

    def reply(req: FakeRequest) -> Turn:
        t = (
            tool_call("web_search", {"query": "sky"})
            if "web_search" in req.tools
            else Turn(content="A: Rayleigh scattering.", finish_reason="stop")
        )
        t.usage = dict(USAGE)  # $0.001 a call
        return t

    return FunctionModel(reply)


@pytest.mark.parametrize("budget", [None, 0.0015], ids=["no budget", "max_cost"])
async def test_a_cost_budget_stops_server_tools_inside_the_panel_too(budget: float | None) -> None:
    search = FakeSearch()
    models = {**default_models(), "vendor/a": searcher()}
    body = fusion_body(max_tool_calls=4)
    if budget is not None:
        stop = [{"type": "max_cost", "max_cost_in_dollars": budget}]
        body["extra_body"] = {"stop_server_tools_when": stop}
    async with running(models, search=search) as gw, gw.sdk() as client:
        answer = await client.chat.completions.create(**body)
    assert answer.choices[0].message.content == "Final answer from 2 panel responses."
    if budget is None:
        assert len(search.queries) == 4  # every step it was allowed
    else:
        # The outer model's call and the panelist's own first one spent the budget.
        assert len(search.queries) <= 1


async def test_a_request_stops_at_its_cap_on_upstream_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLEY_MAX_UPSTREAM_CALLS", "3")  # the outer model and the panel
    async with running() as gw, gw.sdk() as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(**fusion_body())
    assert "max_upstream_calls" in caught.value.message
    assert gw.calls("vendor/judge") == 0
