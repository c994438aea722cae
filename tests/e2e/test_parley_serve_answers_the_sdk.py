"""`parley serve` as a user runs it: a subprocess, a config file, the provider's base URL
in the environment, and the official SDK pointed at it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from gateway_kit import USER, default_models
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

CONFIG = """\
model = "vendor/outer"
judge = "vendor/judge"
panel = ["vendor/a", "vendor/b"]

[presets.general-high]
analysis_models = ["vendor/a", "vendor/b"]
model = "vendor/judge"
outer = "vendor/outer"

[presets.general-fast]
analysis_models = ["vendor/a"]
model = "vendor/judge"
outer = "vendor/outer"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, FakeUpstream]]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    with ThreadedUpstream(FakeUpstream(default_models())) as up:
        port = free_port()
        env = {**os.environ, "OPENROUTER_BASE_URL": up.base_url, "PARLEY_CONFIG": str(config)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "parley", "serve", "--port", str(port)],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stderr is not None
        try:
            seen = []
            for line in proc.stderr:  # uvicorn says when it listens; no polling
                seen.append(line)
                if "Application startup complete" in line:
                    break
            else:
                pytest.fail("parley serve exited: " + "".join(seen))
            yield f"http://127.0.0.1:{port}", up
        finally:
            proc.terminate()
            proc.wait(30)
            proc.stderr.close()


def test_parley_serve_answers_the_sdk_with_fusion(served: tuple[str, FakeUpstream]) -> None:
    url, _ = served
    with OpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as c:
        r = c.chat.completions.create(model="openrouter/fusion", messages=USER)  # type: ignore[arg-type]
        assert r.model == "vendor/outer"
        assert r.choices[0].message.content == "Final answer from 2 panel responses."
        stream = c.chat.completions.create(
            model="vendor/outer",
            messages=USER,  # type: ignore[arg-type]
            tools=[{"type": "openrouter:fusion", "parameters": {"analysis_models": ["vendor/a"]}}],  # type: ignore[list-item]
            stream=True,
        )
        text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
        assert text == "Final answer from 1 panel responses."
        ids = [m.id for m in c.models.list()]
        assert "openrouter/fusion" in ids
    with OpenAI(base_url=url + "/api/v1", api_key="x", max_retries=0) as c:
        r = c.chat.completions.create(model="vendor/a", messages=USER)  # type: ignore[arg-type]
        assert json.loads(r.model_dump_json())["choices"][0]["message"]["content"].startswith("A:")
