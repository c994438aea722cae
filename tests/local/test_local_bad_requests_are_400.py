"""A request the bundled models cannot take is the client's 400 naming the field, never a
500: sampling settings out of range or of the wrong type, a schema the grammar cannot
follow, a malformed forced tool, a prompt past the context, a malformed history."""

from __future__ import annotations

from typing import Any

import pytest

from gateway_kit import CHAT, error_of, post, running

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.local_models

SMOL = "local/smollm2-135m-instruct"
HI = [{"role": "user", "content": "hi"}]


def schema(s: Any) -> dict[str, Any]:
    return {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": s}}}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 7}, "temperature"),
        ({"frequency_penalty": "x"}, "frequency_penalty"),
        ({"top_p": [1]}, "top_p"),
        (schema({"type": "nope"}), "response_format.json_schema.schema"),
        (schema({"type": "string", "pattern": "((((a"}), "response_format.json_schema.schema"),
        ({"tool_choice": {"type": "function", "function": "g"}}, "tool_choice.function"),
    ],
)
async def test_a_bad_field_is_400_naming_it(extra: dict[str, Any], field: str) -> None:
    async with running() as gw:
        status, data = await post(gw.v1 + CHAT, {"model": SMOL, "messages": HI, **extra})
    assert status == 400, data
    assert error_of(data)["param"] == field


async def test_what_the_model_cannot_read_is_400_not_500() -> None:
    long = [{"role": "user", "content": "word " * 20000}]
    broken = [*HI, {"role": "assistant", "content": None, "tool_calls": "x"}, *HI]
    async with running() as gw:
        for messages, says in ((long, "context"), (broken, "cannot build the prompt")):
            status, data = await post(gw.v1 + CHAT, {"model": SMOL, "messages": messages})
            assert status == 400, data
            assert says in error_of(data)["message"]
        # Any integer seed picks one (the sampler's are 32-bit and unsigned).
        body = {"model": SMOL, "messages": HI, "seed": -1, "max_tokens": 4}
        status, data = await post(gw.v1 + CHAT, body)
        assert status == 200, data
