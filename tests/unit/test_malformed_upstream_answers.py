"""An upstream's answer in a shape the protocol does not allow is an UpstreamError (502)
naming the model and the malformed part, whichever way it arrives: a whole response, a
stream chunk, or a whole response to a streamed call. Usage figures no call could report
are left out of the sums rather than breaking the response."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from parley.config import load_settings
from parley.errors import UpstreamError
from parley.http import new_session
from parley.providers import Router
from parley.testing.upstream import FakeUpstream, RawModel, RawReply
from parley.usage import Usage
from parley.wire.chat_parse import delta_from_chunk, turn_from_response

MODEL = "vendor/m"


def message(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", **fields}}]}


WHOLE: list[tuple[dict[str, Any], str]] = [
    ({"choices": 5}, "choices is a number (5), not an array"),
    ({"choices": {"0": {}}}, "choices is an object, not an array"),
    ({"choices": ["text"]}, "choices[0] is a string, not an object"),
    ({"choices": [{"message": "hi"}]}, "choices[0].message is a string, not an object"),
    (message(content=7), "choices[0].message.content is a number (7), not a string"),
    (message(content={"text": "x"}), "choices[0].message.content is an object"),
    (message(content=[{"text": 1}]), "choices[0].message.content[0].text is a number (1)"),
    (message(tool_calls="call"), "choices[0].message.tool_calls is a string, not an array"),
    (message(tool_calls=[1]), "choices[0].message.tool_calls[0] is a number (1)"),
    (message(tool_calls=[{"id": "c"}]), "choices[0].message.tool_calls[0].function is null"),
    (
        message(tool_calls=[{"function": {"name": ["x"]}}]),
        "tool_calls[0].function.name is an array, not a string",
    ),
    (
        message(tool_calls=[{"function": {"name": "f", "arguments": 3}}]),
        "tool_calls[0].function.arguments is a number (3), not a string",
    ),
    (
        message(tool_calls=[{"id": 9, "function": {"name": "f"}}]),
        "tool_calls[0].id is a number (9)",
    ),
    ({"choices": [{"message": {}, "finish_reason": 1}]}, "choices[0].finish_reason is a number"),
    ({"choices": [], "usage": [1]}, "usage is an array, not an object"),
    ({"choices": [], "usage": "many"}, "usage is a string, not an object"),
]


async def streamed_error(reply: RawReply) -> UpstreamError:
    """The error a streamed call through the HTTP adapter gets when the upstream answers `reply`."""
    async with FakeUpstream({MODEL: RawModel(lambda req: reply)}) as up, new_session() as session:
        router = Router(load_settings({"OPENROUTER_BASE_URL": up.base_url}), session)
        with pytest.raises(UpstreamError) as caught:
            body = {"messages": [{"role": "user", "content": "hi"}]}
            async for _ in router.resolve(MODEL).stream(body, {}):
                pass
    return caught.value


@pytest.mark.parametrize(("data", "fragment"), WHOLE, ids=[w[1][:40] for w in WHOLE])
async def test_a_malformed_response_to_a_streamed_call_is_a_502_too(
    data: dict[str, Any], fragment: str
) -> None:
    # Some servers ignore `stream` and answer with the whole response.
    err = await streamed_error(RawReply(json.dumps(data).encode()))
    assert err.status_code == 502 and fragment in err.message


async def test_a_stream_chunk_that_is_not_json_is_a_502_quoting_it() -> None:
    chunk = b": heartbeat\n\ndata: {not json\n\n"
    err = await streamed_error(RawReply(chunk, content_type="text/event-stream"))
    assert err.status_code == 502 and "{not json" in err.message


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields}]}


CHUNKS: list[tuple[dict[str, Any], str]] = [
    ({"choices": 5}, "choices is a number (5), not an array"),
    ({"choices": [None, 1]}, "choices[1] is a number (1), not an object"),
    ({"choices": [{"delta": []}]}, "choices[0].delta is an array, not an object"),
    (delta(content=5), "choices[0].delta.content is a number (5), not a string"),
    (delta(tool_calls={"a": 1}), "choices[0].delta.tool_calls is an object, not an array"),
    (delta(tool_calls=["x"]), "choices[0].delta.tool_calls[0] is a string"),
    (delta(tool_calls=[{"index": "0"}]), "tool_calls[0].index is a string, not an integer"),
    (delta(tool_calls=[{"index": True}]), "tool_calls[0].index is a boolean (true)"),
    (delta(tool_calls=[{"function": "f"}]), "tool_calls[0].function is a string"),
    (
        delta(tool_calls=[{"function": {"arguments": {"a": 1}}}]),
        "tool_calls[0].function.arguments is an object, not a string",
    ),
    ({"choices": [{"delta": {}, "finish_reason": ["stop"]}]}, "finish_reason is an array"),
    ({"choices": [], "usage": 12}, "usage is a number (12), not an object"),
]


READ: list[Any] = [
    *(pytest.param(turn_from_response, d, f, id=f"response: {f[:40]}") for d, f in WHOLE),
    *(pytest.param(delta_from_chunk, c, f, id=f"chunk: {f[:40]}") for c, f in CHUNKS),
]


@pytest.mark.parametrize(("read", "data", "fragment"), READ)
def test_a_malformed_response_or_chunk_is_a_502_naming_model_and_part(
    read: Callable[[dict[str, Any], str], object], data: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        read(data, MODEL)
    err = caught.value
    assert err.status_code == 502 and err.model == MODEL
    assert err.message.startswith(f"{MODEL}: malformed upstream answer: ")
    assert fragment in err.message


def test_what_the_protocol_allows_is_still_read() -> None:
    # Nulls for absent parts, content as parts, dict arguments (some servers), no choices.
    turn = turn_from_response(
        {
            "choices": [
                {
                    "message": {
                        "content": [{"type": "text", "text": "a"}, {"type": "image"}, "x"],
                        "tool_calls": [{"function": {"name": "f", "arguments": {"q": 1}}}],
                    },
                    "finish_reason": None,
                }
            ],
            "usage": None,
        },
        MODEL,
    )
    assert turn.content == "a" and json.loads(turn.tool_calls[0].arguments) == {"q": 1}
    assert delta_from_chunk(delta(content="Hello"), MODEL).text == "Hello"
    assert turn_from_response({"choices": []}).content == ""
    assert turn_from_response({}).content == ""
    empty = delta_from_chunk({"choices": [{"delta": None, "finish_reason": None}], "usage": None})
    assert (empty.text, empty.tool_calls, empty.finish_reason, empty.usage) == ("", (), None, None)


@pytest.mark.parametrize(
    "usage",
    [
        [1, 2],
        "lots",
        {"prompt_tokens": 10**400, "completion_tokens": -5, "total_tokens": True},
        {"prompt_tokens": 2**53, "cost": 10**400},
        {"cost": math.inf},
        {"cost": math.nan},
        {"cost": "0.1", "completion_tokens_details": 4, "server_tool_use_details": [1]},
    ],
)
def test_usage_no_call_could_report_is_left_out(usage: Any) -> None:
    u = Usage()
    u.add_upstream({"prompt_tokens": 3, "completion_tokens": 2, "cost": 0.5})
    u.add_upstream(usage)
    assert u.calls == 2
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cost) == (3, 2, 5, 0.5)
    json.dumps(u.to_wire(), allow_nan=False)  # still a response a client can read
