"""Issue 9, "500s a client can trigger": each request body, header and upstream answer that
used to end in a 500 now gets a 4xx naming the field or header, or a 502/503 naming the
upstream; and no redirect is built from the client's Host header.

Through a real gateway on loopback; raw aiohttp where the bytes must be exactly as given,
the OpenAI SDK where a client would go through one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web
from openai import AsyncOpenAI

from asgi_kit import AsgiClient
from gateway_kit import USER, data_of, default_models, post, running, settings, sse_events
from parley import _constants as C
from parley.errors import ConfigError, MissingExtraError
from parley.gateway import create_app
from parley.gateway.errors import from_exception
from parley.runtime import Setup
from parley.testing.models import FakeRequest, FunctionModel, tool_call
from parley.testing.server import ServerThread

CHAT = "/chat/completions"
DEPTH = "x-openrouter-fusion-depth"


def error_of(data: Any) -> dict[str, Any]:
    assert isinstance(data, dict) and set(data) == {"error"}, data
    err = dict(data["error"])
    assert err["message"] and err["code"] != "internal", err
    return err


async def post_raw(
    url: str, raw: bytes, headers: Mapping[str, str] | None = None
) -> tuple[int, str, Any]:
    """(status, content type, JSON body) of one POST of exactly these bytes."""
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    async with aiohttp.ClientSession() as s, s.post(url, data=raw, headers=hdrs) as r:
        return r.status, r.headers.get("Content-Type", ""), json.loads(await r.read())


def nested(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


# --- Request bodies ---------------------------------------------------------------------


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


LONE = "\ud800"


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


FUSION_TOOL = {"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a"]}}


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


# --- Request headers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["²", "9" * 5000, "-1", "1.0", "", "\u0661"],  # the last: ARABIC-INDIC DIGIT ONE
    ids=["superscript", "5000 digits", "negative", "decimal", "empty", "arabic-indic"],
)
async def test_a_bad_depth_header_is_400_naming_it(value: str) -> None:
    async with running() as gw:
        status, data = await post(
            gw.v1 + CHAT, {"model": "vendor/a", "messages": USER}, {DEPTH: value}
        )
    assert status == 400, data
    err = error_of(data)
    assert err["param"] == DEPTH and DEPTH in err["message"]


async def test_odd_bytes_in_key_and_event_headers_are_never_5xx() -> None:
    body = {"model": "vendor/outer", "messages": USER, "tools": [FUSION_TOOL], "stream": True}
    odd = ["\xff\xfe", "Bearer \xff", "Bearer  k-one ", "bearer k-one", "²", "Bearer", " "]
    async with running(api_keys=["k-one"]) as gw:
        for value in odd:
            for name in ("Authorization", "X-Api-Key"):
                status, data = await post(gw.v1 + CHAT, body, {name: value})
                assert status in (200, 401), (name, value, data)
                if status == 401:
                    assert error_of(data)["code"] == "invalid_api_key"
            auth = {"Authorization": "Bearer k-one", "x-parley-fusion-events": value}
            status, _ = await post(gw.v1 + CHAT, body, auth)
            assert status == 200


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


# --- Missing provider key -----------------------------------------------------------


@contextlib.asynccontextmanager
async def gateway(
    env: Mapping[str, str], models: Mapping[str, FunctionModel] | None = None
) -> AsyncIterator[str]:
    """A gateway on loopback with exactly this environment (no fake upstream)."""
    app = create_app(Setup(settings=settings(env), models=models or default_models()))
    async with ServerThread(app) as url:
        yield url + "/v1"


@pytest.mark.parametrize("stream", [False, True])
async def test_a_model_without_a_key_is_503_naming_model_and_variable(stream: bool) -> None:
    env = {"OPENROUTER_API_KEY": "sk-or-test-0000"}
    async with gateway(env) as v1, AsyncOpenAI(base_url=v1, api_key="x", max_retries=0) as c:
        with pytest.raises(openai.InternalServerError) as caught:
            await c.chat.completions.create(
                model="gpt-4.1",
                messages=USER,  # type: ignore[arg-type]
                stream=stream,
                tools=[{"type": "openrouter:datetime"}] if stream else openai.NOT_GIVEN,  # type: ignore[list-item]
            )
    assert caught.value.status_code == 503
    err = caught.value.body
    assert isinstance(err, dict)
    message = err["message"]
    assert "'gpt-4.1'" in message and "OPENAI_API_KEY" in message
    assert "vendor/model" in message and "openai/gpt-4.1" in message  # OpenRouter has a key
    assert err["code"] == "missing_provider_key" and err["param"] == "model"


async def test_without_any_key_the_503_names_the_variable_only() -> None:
    async with gateway({}) as v1:
        status, data = await post(v1 + CHAT, {"model": "vendor/x", "messages": USER})
    assert status == 503
    err = error_of(data)
    assert "'vendor/x'" in err["message"] and "OPENROUTER_API_KEY" in err["message"]
    assert "vendor/model" not in err["message"]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (
            ConfigError("PARLEY_SEARCH='x' is not a backend; use one of ddgs, searxng"),
            "server_config",
        ),
        (MissingExtraError("web_fetch of HTML pages", "web"), "missing_extra"),
    ],
)
def test_what_only_the_operator_can_fix_is_503_naming_the_fix(exc: Exception, code: str) -> None:
    status, body = from_exception(exc)
    assert status == 503
    assert body["error"]["code"] == code and body["error"]["message"] == str(exc)


# --- Malformed upstream answers -----------------------------------------------------------

BROKEN = "vendor/broken"
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


@contextlib.asynccontextmanager
async def scripted(answer: Answer) -> AsyncIterator[str]:
    """An upstream on loopback that answers every call with `answer`."""

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        ctype, raw = answer(bool(body.get("stream")))
        return web.Response(body=raw, content_type=ctype.split(";")[0])

    app = web.Application()
    app.router.add_post("/api/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def with_broken(
    answer: Answer, models: Mapping[str, FunctionModel] | None = None
) -> AsyncIterator[str]:
    """A gateway whose fake models are in-process and whose `vendor/broken` is HTTP."""
    async with scripted(answer) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up}
        async with gateway(env, models) as v1:
            yield v1


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
    body = {"model": BROKEN, "messages": USER, "tools": [{"type": "openrouter:datetime"}]}
    async with with_broken(answer) as v1:
        status, data = await post(v1 + CHAT, body)
        assert status == 502, data
        err = error_of(data)
        assert err["message"].startswith(f"{BROKEN}: ") and fragment in err["message"], err
        # Streamed: the stream has started (heartbeat) before the upstream answers, so the
        # 502 travels as the error event.
        events = data_of(await sse_events(v1 + CHAT, {**body, "stream": True}))
    errors = [e["error"] for e in events if isinstance(e, dict) and "error" in e]
    assert len(errors) == 1, events
    assert errors[0]["code"] == 502 and errors[0]["message"].startswith(f"{BROKEN}: ")
    assert fragment in errors[0]["message"]


async def test_choices_5_through_the_sdk_is_a_502() -> None:
    async with (
        with_broken(shape({"choices": 5})) as v1,
        AsyncOpenAI(base_url=v1, api_key="x", max_retries=0) as c,
    ):
        with pytest.raises(openai.APIStatusError) as caught:
            await c.chat.completions.create(
                model=BROKEN,
                messages=USER,  # type: ignore[arg-type]
                tools=[{"type": "openrouter:datetime"}],  # type: ignore[list-item]
            )
    assert caught.value.status_code == 502
    assert "vendor/broken" in caught.value.message and "choices" in caught.value.message


@pytest.mark.parametrize("events", [False, True], ids=["whole answers", "streamed panel"])
async def test_a_panelist_answering_choices_5_is_a_failed_model(events: bool) -> None:
    models = default_models()
    body = {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [
            {"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a", BROKEN]}}
        ],
    }
    async with with_broken(shape({"choices": 5}), models) as v1:
        if events:  # with progress events the panel streams, through TurnBuilder
            await sse_events(v1 + CHAT, {**body, "stream": True}, {"x-parley-fusion-events": "1"})
        else:
            status, data = await post(v1 + CHAT, body)
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
    body = {"model": BROKEN, "messages": USER, "tools": [{"type": "openrouter:datetime"}]}
    async with with_broken(answer) as v1:
        if stream:
            events = data_of(await sse_events(v1 + CHAT, {**body, "stream": True}))
            said = "".join(
                e["choices"][0]["delta"].get("content") or ""
                for e in events
                if isinstance(e, dict) and e.get("choices")
            )
            assert said == text and events[-1] == "[DONE]"
        else:
            status, data = await post(v1 + CHAT, body)
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
    body = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:datetime"}]}
    async with running(models) as gw:
        status, data = await post(gw.v1 + CHAT, body)
    assert status == 200, data
    assert data["choices"][0]["message"]["content"] == "tool said: failed"


# --- Trailing slashes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/chat/completions/", {"model": "vendor/a", "messages": USER}),
        ("POST", "/api/v1/chat/completions/", {"model": "vendor/a", "messages": USER}),
        ("GET", "/v1/models/", None),
        ("GET", "/v1/models/vendor/a/", None),
        ("GET", "/health/", None),
    ],
)
async def test_a_trailing_slash_is_answered_not_redirected_off_site(
    method: str, path: str, body: Any
) -> None:
    async with running(api_keys=["k"]) as gw, aiohttp.ClientSession() as s:
        headers = {"Host": "evil.example", "Authorization": "Bearer k"}
        async with s.request(
            method, gw.url + path, json=body, headers=headers, allow_redirects=False
        ) as r:
            assert r.status == 200, await r.text()
            assert "Location" not in r.headers
            data = await r.json()
    if path.startswith("/v1/models/vendor"):
        assert data["id"] == "vendor/a"
