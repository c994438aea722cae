"""Every `bash` block of the README runs as written, so the examples cannot drift.

How: each block runs in bash (`set -euo pipefail`), in the test's isolated user directories,
with `parley` on PATH as this interpreter's `python -m parley` and OpenRouter aimed at a fake
upstream on loopback (`OPENROUTER_BASE_URL`; a dummy key, so that no keyless offline default
kicks in) whose one function model plays panel, judge and outer model. Installs (`pip ...`)
are dropped, since the test runs inside the installed package, and so is the test command
itself (`python -m pytest`), which would recurse. `$EDITOR` is `true`, and stdin carries a
dummy key for `parley keys set`.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli_kit import any_model
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


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


def blocks() -> list[str]:
    return [b for b in (runnable(m) for m in BLOCK.findall(README.read_text())) if b]


def test_readme_opens_with_the_two_commands() -> None:
    found = BLOCK.findall(README.read_text())
    assert found[0].strip() == """pip install -e '.[local]' && parley ask "Why is the sky blue?\""""
    test_command = (
        "pip install -e '.[local,web,test]' && npm ci --prefix tests/node && python -m pytest"
    )
    assert found[1].strip() == test_command
    # CI runs that command and nothing else.
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command
    assert [line for line in ci if line and not line.startswith(("#", "set ", "cd "))] == [
        test_command
    ]


def _shim(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "parley"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m parley "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_every_readme_command_runs(tmp_path: Path) -> None:
    scripts = blocks()
    assert any("parley ask" in s for s in scripts) and any("parley logs" in s for s in scripts)
    with ThreadedUpstream(FakeUpstream(default=any_model())) as up:
        env = {
            **os.environ,
            "PATH": f"{_shim(tmp_path)}{os.pathsep}{os.environ['PATH']}",
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
