"""The README's examples run as written, so they cannot drift: every `bash` block (the CLI),
the library example, the gateway and Responses examples with the official `openai` SDK, and the
server-tool example registered and called through the gateway.

The bash blocks run in bash (`set -euo pipefail`), in the test's isolated user directories,
with `parley` on PATH as this interpreter's `python -m parley` and OpenRouter aimed at a fake
upstream on loopback (`OPENROUTER_BASE_URL`; a dummy key, so that no keyless offline default
kicks in) whose one function model plays panel, judge and outer model. Installs (`pip ...`)
are dropped, since the test runs inside the installed package, and so is the test command
itself (`python -m pytest`), which would recurse. `$EDITOR` is `true`, and stdin carries a
dummy key for `parley keys set`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from cli_kit import any_model
from gateway_kit import running
from parley import REGISTRY
from parley.testing import FakeRequest, FunctionModel, tool_call
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

README = Path(__file__).resolve().parents[2] / "README.md"
BASH = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_example(heading: str) -> str:
    """The first python block after `heading`."""
    section = README.read_text().split(heading + "\n", 1)[1]
    match = PYTHON.search(section)
    assert match, f"the README's {heading!r} section has a python example"
    return match.group(1)


# --- The command line: every bash block ---------------------------------------------------


def runnable(block: str) -> str:
    """The block as the test runs it: installs and the test command dropped."""
    lines = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("pip ") and "&&" in line:
            line = line.split("&&", 1)[1].strip()
        if not line or line.startswith("pip ") or "python -m pytest" in line:
            continue
        lines.append(line)
    return "\n".join(lines)


def test_readme_opens_with_the_two_commands() -> None:
    found = BASH.findall(README.read_text())
    assert found[0].strip() == """pip install -e '.[local]' && parley ask "Why is the sky blue?\""""
    test_command = "sh scripts/install-test-deps && python -m pytest"
    assert found[1].strip() == test_command
    # CI runs that command and nothing else.
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert [line for line in ci if line and not line.startswith(("#", "set ", "cd "))] == [
        test_command
    ]


def shim(tmp_path: Path) -> Path:
    """A folder with `parley` in it: this interpreter's `python -m parley`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "parley"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m parley "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_every_readme_command_runs(tmp_path: Path) -> None:
    scripts = [b for b in (runnable(m) for m in BASH.findall(README.read_text())) if b]
    assert any("parley ask" in s for s in scripts) and any("parley logs" in s for s in scripts)
    with ThreadedUpstream(FakeUpstream(default=any_model())) as up:
        env = {
            **os.environ,
            "PATH": f"{shim(tmp_path)}{os.pathsep}{os.environ['PATH']}",
            "OPENROUTER_BASE_URL": up.base_url,
            "OPENROUTER_API_KEY": "sk-or-readme-dummy-0000000000000000",
            "EDITOR": "true",
            "NO_COLOR": "1",
        }
        for script in scripts:
            proc = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + script],
                input="sk-or-readme-test-key-0123456789\n",
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=120,
            )
            if proc.returncode != 0:
                pytest.fail(f"README block failed ({proc.returncode}):\n{script}\n{proc.stderr}")
            assert "Traceback" not in proc.stderr, script
        assert up.requests, "the README's asks never reached the fake upstream"


# --- The library ----------------------------------------------------------------------


def test_readme_library_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(python_example("## Using the library"))
    with ThreadedUpstream(FakeUpstream(default=any_model())) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url}
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
        )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "ok ['openai/gpt-4.1', 'google/gemini-2.5-pro']"
    assert "Rayleigh" in lines[1]  # the judge's consensus
    assert lines[2].endswith("tokens") and int(lines[2].split()[0]) > 0


# --- The gateway ----------------------------------------------------------------------


async def run_against_gateway(heading: str) -> str:
    """The python example under `heading`, aimed at a gateway on loopback: what it printed."""
    code = python_example(heading)
    assert "http://127.0.0.1:8000/v1" in code
    async with running() as gw:
        script = code.replace("http://127.0.0.1:8000/v1", gw.v1)
        out = io.StringIO()

        def run() -> None:
            scope: dict[str, Any] = {}
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(script, "README.md", "exec"), scope)
            finally:
                # The example leaves its client open, as a script may; the test must not
                # leave the socket for the garbage collector to complain about later.
                for value in scope.values():
                    if isinstance(value, openai.OpenAI):
                        value.close()

        await asyncio.to_thread(run)  # the sync SDK blocks; the fake upstream lives here
    return out.getvalue()


async def test_readme_gateway_example_runs() -> None:
    out = await run_against_gateway("## Serving an OpenAI-compatible API")
    assert "Final answer from 2 panel responses." in out


async def test_readme_responses_example_runs() -> None:
    out = await run_against_gateway("### The Responses API")
    assert out.strip() == "2 panelists; Final answer from 2 panel responses."


# --- A server tool: one class and one registration line, nothing else touched ------------


def register_dice() -> None:
    exec(compile(python_example("### Writing a server tool"), "README.md", "exec"), {})


@pytest.fixture
def dice() -> Iterator[None]:
    register_dice()
    yield
    REGISTRY.unregister("dice")


def roller(req: FakeRequest) -> Any:
    if "dice" in req.tools and not req.tool_results:
        return tool_call("dice", {})
    return f"The die says {json.loads(req.tool_results[-1])['rolled']}."


async def ask_for_dice(parameters: dict[str, Any]) -> Any:
    """One request offering `parley:dice` with these parameters, through the gateway and
    the sync SDK (in a thread: the fake upstream lives on this loop)."""
    async with running({"vendor/outer": FunctionModel(roller)}) as gw:

        def ask() -> Any:
            with openai.OpenAI(base_url=gw.v1, api_key="unused", max_retries=0) as client:
                return client.chat.completions.create(
                    model="vendor/outer",
                    messages=[{"role": "user", "content": "Roll a d20."}],
                    tools=[{"type": "parley:dice", "parameters": parameters}],  # type: ignore[list-item]
                )

        return await asyncio.to_thread(ask)


@pytest.mark.usefixtures("dice")
async def test_a_registered_tool_runs_through_the_gateway_with_the_openai_sdk() -> None:
    answer = await ask_for_dice({"sides": 20})
    rolled = int(answer.choices[0].message.content.removeprefix("The die says ").rstrip("."))
    assert 1 <= rolled <= 20
    assert answer.usage.server_tool_use_details["tool_calls_executed"] == 1


@pytest.mark.usefixtures("dice")
async def test_a_bad_parameter_of_a_registered_tool_is_a_400_naming_it() -> None:
    with pytest.raises(openai.APIStatusError) as err:
        await ask_for_dice({"sides": "many"})
    # The example's factory does no checking of its own: int("many") fails, and the
    # gateway says which tool's parameters it could not use rather than failing with a 500.
    assert err.value.status_code == 400
    assert "tools[0]" in err.value.message


@pytest.mark.usefixtures("dice")
def test_the_same_name_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered already"):
        register_dice()
