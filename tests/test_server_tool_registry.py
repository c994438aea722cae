"""Adding a server tool is one class and one registration line: the README's example,
called through the gateway with the official `openai` SDK, with nothing else touched."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway_kit import running
from parley import REGISTRY
from parley.testing import FakeRequest, FunctionModel, tool_call

README = Path(__file__).resolve().parent.parent / "README.md"


def server_tool_example() -> str:
    section = README.read_text().split("### Writing a server tool", 1)[1]
    match = re.search(r"^```python\n(.*?)^```", section, re.S | re.M)
    assert match, "the server-tool section has a python example"
    return match.group(1)


@pytest.fixture
def dice() -> Iterator[None]:
    exec(compile(server_tool_example(), "README.md", "exec"), {})
    yield
    REGISTRY.unregister("dice")


def roller(req: FakeRequest) -> Any:
    if "dice" in req.tools and not req.tool_results:
        return tool_call("dice", {})
    return f"The die says {json.loads(req.tool_results[-1])['rolled']}."


@pytest.mark.usefixtures("dice")
async def test_a_registered_tool_runs_through_the_gateway_with_the_openai_sdk() -> None:
    async with running({"vendor/outer": FunctionModel(roller)}) as gw:

        def ask() -> Any:
            client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
            return client.chat.completions.create(
                model="vendor/outer",
                messages=[{"role": "user", "content": "Roll a d20."}],
                tools=[{"type": "parley:dice", "parameters": {"sides": 20}}],  # type: ignore[list-item]
            )

        answer = await asyncio.to_thread(ask)  # the fake upstream lives on this loop
    rolled = int(answer.choices[0].message.content.removeprefix("The die says ").rstrip("."))
    assert 1 <= rolled <= 20
    assert answer.usage.server_tool_use_details["tool_calls_executed"] == 1  # type: ignore[union-attr]


@pytest.mark.usefixtures("dice")
async def test_a_bad_parameter_of_a_registered_tool_is_a_400_naming_it() -> None:
    async with running({"vendor/outer": FunctionModel(roller)}) as gw:

        def ask() -> Any:
            client = openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0)
            return client.chat.completions.create(
                model="vendor/outer",
                messages=[{"role": "user", "content": "Roll."}],
                tools=[{"type": "parley:dice", "parameters": {"sides": "many"}}],  # type: ignore[list-item]
            )

        with pytest.raises(openai.APIStatusError) as err:
            await asyncio.to_thread(ask)
    # The example's factory does no checking of its own: int("many") fails, and the
    # gateway says which tool's parameters it could not use rather than failing with a 500.
    assert err.value.status_code == 400
    assert "tools[0]" in err.value.message


def test_the_same_name_cannot_be_registered_twice(dice: None) -> None:
    with pytest.raises(ValueError, match="registered already"):
        exec(compile(server_tool_example(), "README.md", "exec"), {})
