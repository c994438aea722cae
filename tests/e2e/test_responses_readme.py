"""The README's Responses example runs as written against a real gateway on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

from gateway_kit import running

README = Path(__file__).resolve().parents[2] / "README.md"


def responses_example() -> str:
    section = README.read_text().split("### The Responses API", 1)[1]
    match = re.search(r"^```python\n(.*?)^```", section, re.S | re.M)
    assert match, "the Responses section has a python example"
    return match.group(1)


async def test_readme_responses_example_runs() -> None:
    code = responses_example()
    assert "http://127.0.0.1:8000/v1" in code
    async with running() as gw:
        script = code.replace("http://127.0.0.1:8000/v1", gw.v1)
        out = io.StringIO()

        def run() -> None:
            with contextlib.redirect_stdout(out):
                exec(compile(script, "README.md", "exec"), {})

        await asyncio.to_thread(run)  # the sync SDK blocks; the fake upstream lives here
    assert out.getvalue().strip() == "2 panelists; Final answer from 2 panel responses."
