"""An upstream answer the gateway cannot use is a 502 naming the model and the part that
was wrong (or, once a stream has started, the error event): never a 500. A panelist
answering so is a failed model, and the deliberation goes on without it; text the
upstream got wrong (a lone surrogate) still reaches the client as valid JSON; tool
arguments nested too deep are the model's error, not the gateway's.

A fake upstream on loopback writes the faulty bytes (`RawModel`); the gateway in front of
it is the real one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from gateway_kit import (
    CHAT,
    USER,
    data_of,
    default_models,
    error_of,
    nested,
    post,
    running,
    sse_events,
    text_of,
)
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.upstream import RawModel, RawReply, Recorded

BROKEN = "vendor/broken"
DATETIME = [{"type": "openrouter:datetime"}]
Answer = Callable[[bool], tuple[str, bytes]]


def sse(*payloads: Any) -> bytes:
    return b"".join(f"data: {json.dumps(p)}\n\n".encode() for p in payloads) + b"data: [DONE]\n\n"


def shape(obj: dict[str, Any]) -> Answer:
    """This object as the whole answer, or as the one chunk of a stream."""

    def answer(stream: bool) -> tuple[str, bytes]:
        if stream:
            return "text/event-stream", sse(obj)
        return "application/json", json.dumps(obj).encode()

    return answer


def as_json(raw: bytes) -> Answer:
    """These bytes as a JSON answer, streamed or not (a server that ignores `stream`)."""
    return lambda stream: ("application/json", raw)


def broken(answer: Answer) -> RawModel:
    """`vendor/broken`: answers every call with `answer`, written byte for byte."""

    def reply(req: Recorded) -> RawReply:
        ctype, raw = answer(bool(req.body.get("stream")))
        return RawReply(raw, content_type=ctype)

    return RawModel(reply)


MALFORMED: list[tuple[str, Answer, str]] = [
    ("choices: 5", shape({"choices": 5}), "choices is a number (5), not an array"),
    ("choice", shape({"choices": ["x"]}), "choices[0] is a string"),
    ("message", shape({"choices": [{"message": 1, "delta": 1}]}), "is a number (1)"),
    (
        "tool_calls",
        shape({"choices": [{"message": {"tool_calls": {}}, "delta": {"tool_calls": {}}}]}),
        "tool_calls is an object, not an array",
    ),
    (
        "content",
        shape({"choices": [{"message": {"content": 7}, "delta": {"content": 7}}]}),
        "content is a number (7), not a string",
    ),
    ("usage", shape({"choices": [], "usage": [1]}), "usage is an array, not an object"),
    ("deep", as_json(nested(5000).encode()), "something other than a JSON object"),
    ("ignored stream", as_json(b'{"choices": 5}'), "choices is a number (5)"),
]


@pytest.mark.parametrize(("name", "answer", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_malformed_upstream_answer_is_502_naming_model_and_part(
    name: str, answer: Answer, fragment: str
) -> None:
    body = {"model": BROKEN, "messages": USER, "tools": DATETIME}
    async with running({BROKEN: broken(answer)}) as gw:
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 502, data
        err = error_of(data)
        assert err["message"].startswith(f"{BROKEN}: ") and fragment in err["message"], err
        # Streamed: the stream has started (heartbeat) before the upstream answers, so the
        # 502 travels as the error event.
        events = data_of(await sse_events(gw.v1 + CHAT, {**body, "stream": True}))
    errors = [e["error"] for e in events if isinstance(e, dict) and "error" in e]
    assert len(errors) == 1, events
    assert errors[0]["code"] == 502 and errors[0]["message"].startswith(f"{BROKEN}: ")
    assert fragment in errors[0]["message"]


async def test_the_openai_sdk_sees_a_malformed_upstream_answer_as_a_502() -> None:
    async with running({BROKEN: broken(shape({"choices": 5}))}) as gw, gw.sdk() as c:
        with pytest.raises(openai.APIStatusError) as caught:
            await c.chat.completions.create(
                model=BROKEN,
                messages=USER,  # type: ignore[arg-type]
                tools=DATETIME,  # type: ignore[arg-type]
            )
    assert caught.value.status_code == 502
    assert BROKEN in caught.value.message and "choices" in caught.value.message


@pytest.mark.parametrize("events", [False, True], ids=["whole answers", "streamed panel"])
async def test_a_panelist_answering_choices_5_is_a_failed_model(events: bool) -> None:
    models = {**default_models(), BROKEN: broken(shape({"choices": 5}))}
    body = {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [
            {"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a", BROKEN]}}
        ],
    }
    async with running(models) as gw:
        if events:  # with progress events the panel streams
            await sse_events(
                gw.v1 + CHAT, {**body, "stream": True}, {"x-parley-fusion-events": "1"}
            )
        else:
            status, data = await post(gw.v1 + CHAT, body)
            assert status == 200, data
    result = json.loads(models["vendor/outer"].requests[-1].tool_results[-1])
    assert [r["model"] for r in result["responses"]] == ["vendor/a"]
    [failed] = result["failed_models"]
    assert failed["model"] == BROKEN and failed["status_code"] == 502
    assert "choices is a number (5), not an array" in failed["error"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_lone_surrogate_from_the_upstream_still_makes_valid_json(stream: bool) -> None:
    text = "half an emoji: \ud83d"
    answer = shape(
        {
            "choices": [
                {"message": {"content": text}, "delta": {"content": text}, "finish_reason": "stop"}
            ]
        }
    )
    body = {"model": BROKEN, "messages": USER, "tools": DATETIME}
    async with running({BROKEN: broken(answer)}) as gw:
        if stream:
            events = data_of(await sse_events(gw.v1 + CHAT, {**body, "stream": True}))
            assert text_of(events) == text and events[-1] == "[DONE]"
        else:
            status, data = await post(gw.v1 + CHAT, body)
            assert status == 200, data
            assert data["choices"][0]["message"]["content"] == text


async def test_tool_arguments_nested_too_deep_are_the_models_error_not_ours() -> None:
    deep = nested(5000)

    def reply(req: FakeRequest) -> Any:
        if not req.tool_results:
            t = tool_call("datetime", {})
            t.tool_calls[0].arguments = deep
            return t
        return f"tool said: {json.loads(req.tool_results[-1])['status']}"

    models = {**default_models(), "vendor/outer": FunctionModel(reply)}
    body = {"model": "vendor/outer", "messages": USER, "tools": DATETIME}
    async with running(models) as gw:
        status, data = await post(gw.v1 + CHAT, body)
    assert status == 200, data
    assert data["choices"][0]["message"]["content"] == "tool said: failed"
