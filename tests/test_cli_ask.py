"""`parley ask` against a fake OpenRouter-compatible upstream on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from parley.testing.models import FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


def test_ask_json_against_loopback_upstream(models: dict[str, FunctionModel]) -> None:
    with ThreadedUpstream(FakeUpstream(models)) as up:
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "parley",
                "ask",
                "--model",
                "vendor/outer",
                "--panel",
                "vendor/a,vendor/b",
                "--judge",
                "vendor/judge",
                "--json",
                "Why is the sky blue?",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["answer"] == "Final answer from 2 panel responses."
    assert out["fusion"]["status"] == "ok"
    assert [r["model"] for r in out["fusion"]["responses"]] == ["vendor/a", "vendor/b"]
    assert set(out["fusion"]["analysis"]) == {
        "consensus",
        "contradictions",
        "partial_coverage",
        "unique_insights",
        "blind_spots",
    }
    assert out["usage"]["total_tokens"] > 0
