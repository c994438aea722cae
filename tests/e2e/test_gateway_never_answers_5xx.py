"""Fuzzing the gateway's request parsing: whatever the body and headers hold (deep nesting,
lone surrogates, huge and odd numbers, odd header bytes), the answer is never a 5xx.

Requests go through the whole ASGI app in-process (`asgi_kit`), in front of fake models,
so hundreds of examples take a few seconds; `derandomize` makes every run the same.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_kit import AsgiClient, Reply
from gateway_kit import USER, default_models, fixed
from gateway_kit import settings as gateway_settings
from parley.gateway import create_app
from parley.runtime import Setup
from parley.testing.upstream import FakeUpstream
from parley.testing.web import FakeSearch

KEY = "fuzz-key"
EXAMPLES = 400


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is: what Python's json.dumps will not write (`1e999`, a
    5,000-digit integer, `NaN`, nesting a thousand deep)."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # ensure_ascii: a lone surrogate becomes a `\ud800` escape


# A request per shape the gateway handles differently: passthrough, each way to ask for
# fusion, a web tool, stop conditions; each also streamed.
TEMPLATES: list[dict[str, Any]] = [
    {"model": "vendor/a", "messages": USER},
    {"model": "openrouter/fusion", "messages": USER},
    {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [
            {
                "type": "openrouter:fusion",
                "parameters": {
                    "analysis_models": ["vendor/a", "vendor/b"],
                    "model": "vendor/judge",
                    "max_tool_calls": 2,
                    "temperature": 0.5,
                    "max_completion_tokens": 100,
                    "reasoning": {"effort": "low", "max_tokens": 50},
                },
            }
        ],
    },
    {
        "model": "openrouter/fusion",
        "messages": USER,
        "plugins": [{"id": "fusion", "max_tool_calls": 2, "temperature": 1, "preset": None}],
    },
    {
        "model": "vendor/outer",
        "messages": USER,
        "tools": [
            {
                "type": "openrouter:web_search",
                "parameters": {"max_results": 3, "max_uses": 2, "allowed_domains": ["a.org"]},
            },
            {"type": "openrouter:datetime", "parameters": {"timezone": "UTC"}},
        ],
        "max_tool_calls": 3,
        "stop_server_tools_when": [
            {"type": "step_count_is", "step_count": 2},
            {"type": "max_cost", "max_cost_in_dollars": 1.5},
            {"type": "max_tokens_used", "max_tokens": 1000},
        ],
        "temperature": 0.2,
    },
]


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a template a value can be replaced or added, the body itself first."""
    yield at
    if isinstance(value, dict):
        yield (*at, "extra")
        for k, v in value.items():
            yield from paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*at, i))


def replaced(template: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copy: Any = dict(template) if isinstance(template, dict) else list(template)
    head, *rest = at
    copy[head] = replaced(copy[head] if rest else None, tuple(rest), new)
    return copy


SURROGATES = ["\ud800", "\udfff", "a\ud83d", "\ude00b", "\ud83d\ude00"]
ODD_NUMBERS = [
    "1e999",
    "-1e999",
    "1e-999",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "-0.0",
    "9" * 5000,
    "-" + "9" * 5000,
    "1" + "0" * 4000,
    "1" + "0" * 400,
    "0.1e400",
    "2.0000000001",
    "1E2",
]

numbers = st.one_of(
    st.sampled_from(ODD_NUMBERS).map(Raw),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=120),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1, max_value=3),
)
strings = st.one_of(
    st.text(max_size=8),
    st.sampled_from(SURROGATES),
    st.sampled_from(
        ["vendor/a", "openrouter/fusion", "gpt-4.1", "user", "fusion", "openrouter:fusion"]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
keys = st.one_of(
    st.text(max_size=6),
    st.sampled_from([*SURROGATES, "id", "type", "role", "content", "parameters"]),
)
containers = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=3),
    max_leaves=6,
)
nested = st.tuples(
    st.sampled_from([2, 98, 99, 100, 101, 999, 1000, 1200]), st.sampled_from(["[", '{"a":'])
).map(lambda t: Raw(t[1] * t[0] + "1" + ("]" if t[1] == "[" else "}") * t[0]))
# Mostly numbers and strings, which pass the type checks and reach the code behind them.
values = st.sampled_from([numbers, numbers, strings, scalars, containers, nested]).flatmap(
    lambda s: s
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    template = draw(st.sampled_from(TEMPLATES))
    if draw(st.booleans()):
        template = {**template, "stream": True}
    body = template
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.sampled_from(list(paths(body))))
        body = replaced(body, at, draw(values))
    return dump(body).encode()


header_values = st.one_of(
    st.binary(max_size=12),
    st.sampled_from(
        [b"\xc2\xb2", b"9" * 5000, b"0", b"1", b"-1", b" 2 ", b"\xff\x00", b"true", b"00001"]
    ),
)
HEADERS = [
    b"x-openrouter-fusion-depth",
    b"x-parley-fusion-events",
    b"authorization",
    b"x-api-key",
    b"content-length",
    b"content-type",
]


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    out = [(b"authorization", f"Bearer {KEY}".encode())]
    for name in draw(st.lists(st.sampled_from(HEADERS), max_size=3, unique=True)):
        out = [h for h in out if h[0] != name]
        out.append((name, draw(header_values)))
    return out


def check(reply: Reply) -> None:
    assert reply.status < 500, reply.body[:2000]
    if reply.status >= 400:
        err = json.loads(reply.body)["error"]
        assert err["message"] and err["metadata"].get("reason") != "internal", err
    # An error after a stream started travels in it; none may be the server's own.
    assert b'"internal"' not in reply.body, reply.body[:2000]


class Gateway:
    """The app and its client on a loop of their own: hypothesis calls the test
    synchronously, once per example. Any model id the fakes do not know goes to a fake
    upstream on loopback that answers every id, so no example meets a missing key."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.upstream = FakeUpstream(default=fixed("Fine."))
        self.loop.run_until_complete(self.upstream.start())
        url = self.upstream.base_url
        env = {"OPENROUTER_BASE_URL": url, "OPENAI_BASE_URL": url}
        setup = Setup(settings=gateway_settings(env), models=default_models(), search=FakeSearch())
        app = create_app(setup, api_keys=[KEY])
        self.client = AsgiClient(app)
        self.loop.run_until_complete(self.client.__aenter__())

    def post(self, body: bytes, hdrs: list[tuple[bytes, bytes]]) -> Reply:
        return self.loop.run_until_complete(
            self.client.request("POST", "/v1/chat/completions", body, hdrs)
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.client.__aexit__(None, None, None))
        self.loop.run_until_complete(self.upstream.stop())
        self.loop.close()


FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_no_request_body_gets_a_5xx() -> None:
    gw = Gateway()

    @FUZZ
    @given(bodies())
    def run(body: bytes) -> None:
        check(gw.post(body, [(b"authorization", f"Bearer {KEY}".encode())]))

    try:
        run()
    finally:
        gw.close()


def test_no_request_header_gets_a_5xx() -> None:
    gw = Gateway()
    body = dump({**TEMPLATES[0]}).encode()
    streamed = dump({**TEMPLATES[2], "stream": True}).encode()

    @FUZZ
    @given(headers(), st.sampled_from([body, streamed]))
    def run(hdrs: list[tuple[bytes, bytes]], payload: bytes) -> None:
        check(gw.post(payload, hdrs))

    try:
        run()
    finally:
        gw.close()
