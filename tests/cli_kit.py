"""Helpers for the CLI tests: a fake upstream any model id can reach, and a way to run
`parley` in a subprocess against it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

from parley import tool_call
from parley.models.base import Delta
from parley.testing import ANALYSIS as ANALYSIS  # re-exported: the one canned analysis
from parley.testing import ANALYSIS_JSON
from parley.testing.models import FakeRequest, FunctionModel

# The headings under which `--show-panel` and `logs show` print the judge's analysis.
ANALYSIS_HEADINGS = (
    "Consensus",
    "Contradictions",
    "Partial coverage",
    "Unique insights",
    "Blind spots",
)


def any_model_reply(req: FakeRequest) -> Any:
    """One function playing every role: outer (calls fusion, then answers), judge, panel."""
    if "fusion" in req.tools and not req.tool_results:
        return tool_call("fusion", {"question": req.last_user})
    if "response_format" in req.body or "analyst" in json.dumps(req.messages[:1]):
        return ANALYSIS_JSON
    if req.tool_results:
        result = json.loads(req.tool_results[-1])
        n = len(result.get("responses", []))
        return f"The sky is blue because of Rayleigh scattering, say {n} panelists."
    return f"{req.body.get('model')} says: shorter wavelengths scatter more."


def any_model() -> FunctionModel:
    return FunctionModel(any_model_reply, name="any")


class GatedModel(FunctionModel):
    """Streams its first `before` pieces, then waits for `gate` (set from the test thread)."""

    def __init__(self, fn: Any, gate: threading.Event, before: int = 2) -> None:
        super().__init__(fn)
        self.gate = gate
        self.before = before

    async def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[Delta]:
        sent = 0
        async for delta in super().stream(body, headers):
            if sent == self.before and "fusion" not in json.dumps(body.get("tools") or []):
                await asyncio.to_thread(self.gate.wait)
            sent += 1
            yield delta


def cli_env(base_url: str, **extra: str) -> dict[str, str]:
    """The test's isolated environment, aimed at a fake upstream."""
    env = {
        **os.environ,
        "OPENROUTER_BASE_URL": base_url,
        "PARLEY_MODEL": "vendor/outer",
        "PARLEY_PANEL": "vendor/a,vendor/b",
        "PARLEY_JUDGE": "vendor/judge",
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def parley_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "parley", *args]


def spawn_parley(
    env: dict[str, str], *args: str, stderr: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """`parley ARGS` started in a subprocess with no stdin, its output piped as text, for
    a test that reads it while it runs."""
    return subprocess.Popen(
        parley_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )


def run_parley(
    env: dict[str, str], *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        parley_cmd(*args), input=stdin, capture_output=True, text=True, env=env, timeout=timeout
    )
