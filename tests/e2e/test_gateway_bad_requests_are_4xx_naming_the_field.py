"""What a client can fix is a 4xx in OpenAI's error shape, naming the field or header to
change, and it comes before any upstream call or stream starts: malformed JSON, wrong
fields, nesting too deep, lone surrogates, numbers JSON cannot carry, a bad depth header,
a body over the limit.

Through a real gateway on loopback; raw bytes where the body must be exactly as given;
in-process (`asgi_kit`) where even aiohttp would not send the header's bytes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp
import pytest

from asgi_kit import AsgiClient
from gateway_kit import CHAT, USER, default_models, error_of, nested, post, running, settings
from parley import _constants as C
from parley.gateway import create_app
from parley.runtime import Setup

DEPTH = "x-openrouter-fusion-depth"
FUSION_TOOL = {"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a"]}}
LONE = "\ud800"


async def post_raw(url: str, raw: bytes) -> tuple[int, str, Any]:
    """(status, content type, JSON body) of one POST of exactly these bytes."""
    hdrs = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as s, s.post(url, data=raw, headers=hdrs) as r:
        return r.status, r.headers.get("Content-Type", ""), json.loads(await r.read())


# --- The body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object, got an array"),
        (b"NaN", "NaN is not JSON"),
        (b"null", "JSON object, got null"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_malformed_bodies_are_400(raw: bytes, fragment: str) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, None, raw=raw)
    assert status == 400
    err = error_of(data)
    assert fragment in err["message"] and err["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "vendor/a"}, "messages"),
        ({"model": "vendor/a", "messages": "hi"}, "messages"),
        ({"model": "vendor/a", "messages": []}, "messages"),
        ({"model": "vendor/a", "messages": [{"content": "no role"}]}, "messages"),
        ({"model": 7, "messages": USER}, "model"),
        ({"model": "vendor/a", "messages": USER, "tools": "x"}, "tools"),
        ({"model": "vendor/a", "messages": USER, "tools": [1]}, "tools[0]"),
        ({"model": "vendor/a", "messages": USER, "max_tool_calls": 0}, "max_tool_calls"),
        ({"model": "vendor/a", "messages": USER, "stream": "sometimes"}, "stream"),
        (
            {"model": "vendor/a", "messages": USER, "tools": [{"type": "openrouter:teleport"}]},
            "tools[0].type",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [{"type": "openrouter:fusion", "parameters": {"temperature": 3}}],
            },
            "tools[0].parameters.temperature",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "plugins": [{"id": "fusion", "analysis_models": []}],
            },
            "plugins[0].analysis_models",
        ),
        (
            {"model": "vendor/outer", "messages": USER, "plugins": [{"id": "fusion", "x": 1}]},
            "plugins[0].x",
        ),
        # OpenRouter searches for its own panelists, yet the web_search asked of them is
        # held to the same bounds (and the field's index is the request's).
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [
                    {
                        "type": "openrouter:fusion",
                        "parameters": {
                            "analysis_models": ["vendor/a"],
                            "tools": [
                                {"type": "openrouter:datetime"},
                                {
                                    "type": "openrouter:web_search",
                                    "parameters": {"max_results": -5},
                                },
                            ],
                        },
                    }
                ],
            },
            "tools[0].parameters.tools[1].parameters.max_results",
        ),
        # Beside a server tool, Parley runs the loop and reads the client's functions.
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [FUSION_TOOL, {"type": "function", "function": "x"}],
            },
            "tools[1].function",
        ),
        (
            {
                "model": "openrouter/fusion",
                "messages": USER,
                "tools": [{"type": "function", "function": {"name": ["x"]}}],
            },
            "tools[0].function.name",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "tools": [
                    FUSION_TOOL,
                    {"type": "function", "function": {"name": "f", "parameters": "x"}},
                ],
            },
            "tools[1].function.parameters",
        ),
        (
            {
                "model": "vendor/outer",
                "messages": USER,
                "plugins": [{"id": "fusion", "preset": "nope"}],
            },
            "plugins[0].preset",
        ),
    ],
)
async def test_wrong_fields_are_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, body)
    assert status == 400, data
    err = error_of(data)
    assert err["param"] == param
    assert param in err["message"]


async def test_a_wrong_field_in_a_streamed_request_is_an_http_400_not_an_event() -> None:
    body = {
        "model": "vendor/outer",
        "messages": USER,
        "stream": True,
        "tools": [{"type": "openrouter:fusion", "parameters": {"max_tool_calls": 99}}],
    }
    async with running() as gw, aiohttp.ClientSession() as s, s.post(gw.v1 + CHAT, json=body) as r:
        assert r.status == 400
        assert r.headers["Content-Type"].startswith("application/json")
        assert error_of(await r.json())["param"] == "tools[0].parameters.max_tool_calls"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (f'{{"model": "vendor/a", "messages": {nested(1000)}}}', "messages[0][0][0]"),
        (
            '{"model": "vendor/a", "messages": [{"role": "user", "content": "hi", '
            f'"extra": {nested(1000)}}}]}}',
            "messages[0].extra[0]",
        ),
        (
            f'{{"model": "vendor/a", "messages": [], "metadata": {nested(150)}}}',
            "metadata[0][0][0]",
        ),
    ],
    ids=["messages", "extra field", "150 deep"],
)
async def test_json_nested_too_deep_is_400_naming_the_field(raw: str, field: str) -> None:
    # The field is named by the first four steps of its path: enough to find it.
    async with running() as gw:
        status, _, data = await post_raw(gw.v1 + CHAT, raw.encode())
    assert status == 400
    err = error_of(data)
    assert err["param"] == field and field in err["message"]
    assert f"deeper than {C.JSON_MAX_DEPTH} levels" in err["message"]


async def test_nesting_up_to_the_limit_is_accepted() -> None:
    # The body is level 1 and `metadata` level 2: 99 arrays in it make 100 levels.
    ok = {"model": "vendor/a", "messages": USER, "metadata": json.loads(nested(99))}
    too_deep = {**ok, "metadata": json.loads(nested(100))}
    async with running() as gw:
        assert (await post(gw.v1 + CHAT, ok))[0] == 200
        status, data = await post(gw.v1 + CHAT, too_deep)
    assert status == 400 and error_of(data)["param"] == "metadata[0][0][0]"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": f"vendor/{LONE}", "messages": USER}, "model"),
        ({"model": "vendor/outer", "messages": USER, "plugins": [{LONE: 1}]}, "plugins[0]"),
        (
            {"model": "vendor/outer", "messages": USER, "plugins": [{"id": "fusion", LONE: 1}]},
            "plugins[0]",
        ),
        (
            {"model": "vendor/a", "messages": [{"role": "user", "content": LONE}]},
            "messages[0].content",
        ),
    ],
)
async def test_a_lone_surrogate_is_400_before_any_stream_starts(
    body: dict[str, Any], field: str, stream: bool
) -> None:
    raw = json.dumps({**body, "stream": stream}).encode()  # ASCII: `\ud800` as an escape
    assert b"\\ud800" in raw
    async with running() as gw:
        status, ctype, data = await post_raw(gw.v1 + CHAT, raw)
        calls = sum(gw.calls(m) for m in gw.models)
    assert status == 400 and ctype.startswith("application/json")
    err = error_of(data)
    assert err["param"] == field and "lone UTF-16 surrogate" in err["message"]
    assert calls == 0


async def test_a_surrogate_encoded_as_utf_8_bytes_is_400_too() -> None:
    # Not valid UTF-8, but json.loads decodes bytes with "surrogatepass" and took it.
    raw = b'{"model": "vendor/\xed\xa0\x80", "messages": [{"role": "user", "content": "hi"}]}'
    async with running() as gw:
        status, _, data = await post_raw(gw.v1 + CHAT, raw)
    assert status == 400 and error_of(data)["param"] == "model"


async def test_a_surrogate_pair_is_text_not_an_error() -> None:
    raw = json.dumps({"model": "vendor/a", "messages": [{"role": "user", "content": "\U0001f600"}]})
    assert "\\ud83d\\ude00" in raw
    async with running() as gw:
        status, _, data = await post_raw(gw.v1 + CHAT, raw.encode())
        assert status == 200, data
        assert gw.models["vendor/a"].requests[0].last_user == "\U0001f600"


@pytest.mark.parametrize(
    ("literal", "where", "fragment"),
    [
        ("1e999", "max_tool_calls", "out of range"),
        ("NaN", "max_tool_calls", "NaN is not JSON"),
        ("Infinity", "temperature", "Infinity is not JSON"),
        ("-Infinity", "tools[0].parameters.temperature", "-Infinity is not JSON"),
        ("9" * 5000, "max_tool_calls", "5000 digits"),
        ("-" + "9" * 5000, "tools[0].parameters.max_tool_calls", "5000 digits"),
        ("1e999", "plugins[0].temperature", "out of range"),
        ("9" * 5000, "stop_server_tools_when[0].step_count", "5000 digits"),
        ("1e999", "tools[2].parameters.max_results", "out of range"),
    ],
    ids=lambda v: v if len(v) < 40 else f"{v[:3]}...{len(v)}",
)
async def test_numbers_json_cannot_carry_are_400_naming_the_field(
    literal: str, where: str, fragment: str
) -> None:
    body = {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [
            copy.deepcopy(FUSION_TOOL),
            {"type": "openrouter:datetime", "parameters": {}},
            {"type": "openrouter:web_search", "parameters": {"max_results": 3}},
        ],
        "plugins": [{"id": "fusion"}],
        "stop_server_tools_when": [{"type": "step_count_is", "step_count": 2}],
    }
    # Put the literal at `where`, through a placeholder json.dumps writes as a string.
    target: Any = body
    *parents, leaf = where.replace("[", ".").replace("]", "").split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[leaf] = "@@"
    raw = json.dumps(body).replace('"@@"', literal).encode()
    async with running() as gw:
        status, _, data = await post_raw(gw.v1 + CHAT, raw)
    assert status == 400, data
    err = error_of(data)
    assert err["param"] == where and fragment in err["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_tool_calls": 10**300}, "max_tool_calls"),
        (
            {"tools": [{**FUSION_TOOL, "parameters": {"temperature": 10**400}}]},
            "tools[0].parameters.temperature",
        ),
        (
            {"stop_server_tools_when": [{"type": "max_cost", "max_cost_in_dollars": 10**400}]},
            "stop_server_tools_when[0].max_cost_in_dollars",
        ),
    ],
)
async def test_huge_numbers_in_range_checked_fields_are_400(
    body: dict[str, Any], field: str
) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/outer", "messages": USER, **body})
    assert status == 400, data
    assert error_of(data)["param"] == field


async def test_odd_but_valid_numbers_are_accepted() -> None:
    raw = (
        '{"model": "vendor/outer", "messages": [{"role": "user", "content": "hi"}], '
        '"tools": [{"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a"], '
        '"temperature": -0.0, "max_completion_tokens": 1' + "0" * 400 + "}}], "
        '"seed": -0, "top_p": 1e-999}'
    )
    async with running() as gw:
        status, _, data = await post_raw(gw.v1 + CHAT, raw.encode())
        assert status == 200, data
        panel = gw.models["vendor/a"].requests[0].body
    assert panel["max_completion_tokens"] == 10**400


async def test_a_body_over_the_limit_is_413_naming_the_option() -> None:
    async with running(max_body=2000) as gw:
        big = [{"role": "user", "content": "x" * 5000}]
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": big})
        assert status == 413
        assert "--max-body" in error_of(data)["message"]
        status, _ = await post(gw.v1 + CHAT, {"model": "vendor/a", "messages": USER})
        assert status == 200


async def test_a_content_length_of_thousands_of_digits_is_413() -> None:
    # In-process: uvicorn's own parser already refuses such a header before the app runs.
    app = create_app(Setup(settings=settings({}), models=default_models()), max_body=1000)
    async with AsgiClient(app) as client:
        reply = await client.request(
            "POST", "/v1/chat/completions", b"{}", [(b"content-length", b"9" * 5000)]
        )
        assert reply.status == 413, reply.body
        assert "--max-body" in error_of(json.loads(reply.body))["message"]
        reply = await client.request(
            "POST", "/v1/chat/completions", b"{}", [(b"content-length", b"0" * 5000 + b"2")]
        )
        assert reply.status == 400  # not too large: an empty object, missing `messages`


# --- The depth header -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["x", "²", "9" * 5000, "-1", "1.0", "", "\u0661"],  # the last: ARABIC-INDIC DIGIT ONE
    ids=["word", "superscript", "5000 digits", "negative", "decimal", "empty", "arabic-indic"],
)
async def test_a_bad_depth_header_is_400_naming_it(value: str) -> None:
    async with running() as gw:
        status, data = await post(
            gw.v1 + CHAT, {"model": "vendor/a", "messages": USER}, {DEPTH: value}
        )
    assert status == 400, data
    err = error_of(data)
    assert err["param"] == DEPTH and DEPTH in err["message"]


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9", b"9" * 5000, b"\xff\x00"])
async def test_a_depth_header_in_latin_1_is_400_naming_it(value: bytes) -> None:
    # In-process, to send the exact bytes: `b"\xb2"` is `²` to a latin-1 reader, which
    # str.isdigit() took for a digit and int() did not.
    app = create_app(Setup(settings=settings({}), models=default_models()))
    body = json.dumps({"model": "vendor/a", "messages": USER}).encode()
    async with AsgiClient(app) as client:
        reply = await client.request(
            "POST", "/v1/chat/completions", body, [(DEPTH.encode(), value)]
        )
    assert reply.status == 400, reply.body
    assert error_of(json.loads(reply.body))["param"] == DEPTH


# --- The model --------------------------------------------------------------------------


async def test_an_unknown_upstream_model_keeps_the_upstream_404() -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, {"model": "vendor/nope", "messages": USER})
    assert status == 404
    assert "vendor/nope" in error_of(data)["message"]
