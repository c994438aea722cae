"""The README's library example runs as written, against a fake OpenRouter on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ANALYSIS

from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

README = Path(__file__).resolve().parent.parent / "README.md"


def library_example() -> str:
    section = README.read_text().split("## Using the library", 1)[1]
    match = re.search(r"^```python\n(.*?)^```", section, re.S | re.M)
    assert match, "the library section has a python example"
    return match.group(1)


def any_model(req: FakeRequest) -> str:
    # The judge asks for the analysis schema; panelists get plain text.
    if "response_format" in req.body:
        return json.dumps(ANALYSIS)
    return f"{req.body.get('model')} answers: it depends on the costs you count."


def test_readme_library_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(library_example())
    with ThreadedUpstream(FakeUpstream(default=FunctionModel(any_model))) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url}
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
        )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "ok ['openai/gpt-4.1', 'google/gemini-2.5-pro']"
    assert "Rayleigh" in lines[1]
    assert lines[2].endswith("tokens") and int(lines[2].split()[0]) > 0
