"""A credential an upstream quotes across the chunks of a stream is masked: held back
while it could be one, passed on unchanged (byte for byte) when it is not."""

from __future__ import annotations

import json
from typing import Any

from parley.gateway.masked_chunks import MaskedChunks
from parley.redact import Redactor

KEY = "sk-or-v1-0123456789abcdef"


def line(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return b"data: " + json.dumps({"id": "x", "choices": [choice], "extra": 1.5}).encode() + b"\n"


def texts(out: bytes, field: str = "content") -> list[str]:
    got = []
    for raw in out.splitlines():
        if raw.startswith(b"data: {"):
            for choice in json.loads(raw[6:])["choices"]:
                got.append(choice["delta"].get(field, ""))
    return got


def test_a_key_in_two_chunks_is_masked_and_the_rest_flows_unchanged() -> None:
    m = MaskedChunks(Redactor([KEY]))
    plain = line({"role": "assistant", "content": "Hello there. "})
    assert m.lines(plain) == plain  # nothing like a key: the upstream's own bytes
    first = m.lines(line({"content": "key " + KEY[:12]}))
    second = m.lines(line({"content": KEY[12:] + " ok"}))
    end = m.lines(line({}, "stop"))
    assert texts(first) + texts(second) + texts(end) == ["key ", "*** ok", ""]
    assert json.loads(first[6:])["extra"] == 1.5  # every other field kept


def test_what_was_held_back_comes_out_on_the_finishing_chunk() -> None:
    m = MaskedChunks(Redactor([KEY]))
    held = m.lines(line({"content": "ends in sk"}))
    end = m.lines(line({}, "stop") + b"\n" + b"data: [DONE]\n")
    assert texts(held) == ["ends in "]
    assert texts(end) == ["sk"] and end.endswith(b"data: [DONE]\n")


def test_choices_and_reasoning_are_followed_apart() -> None:
    m = MaskedChunks(Redactor([KEY]))
    out = m.lines(line({"reasoning": KEY[:5]}, index=1) + line({"content": KEY[:5]}, index=0))
    out += m.lines(line({"reasoning": KEY[5:]}, "stop", 1) + line({"content": "x"}, "stop", 0))
    assert "".join(texts(out, "reasoning")) == "***"
    assert "".join(texts(out)) == KEY[:5] + "x"  # choice 0 never completed the key


def test_a_stream_that_ends_at_done_without_finishing_still_gets_the_held_text() -> None:
    m = MaskedChunks(Redactor([KEY]))
    held = m.lines(line({"content": "ends in sk"}))
    end = m.lines(b"\n" + b"data: [DONE]\n" + b"\n")
    assert texts(held) == ["ends in "]
    assert texts(end) == ["sk"] and end.endswith(b"data: [DONE]\n\n")
    assert json.loads(end.split(b"\n")[1][6:])["id"] == "x"  # the upstream's fields, copied
