"""`parley serve` as a user runs it: a subprocess, a config file, the provider's base URL
in the environment, and the official SDK pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from gateway_kit import USER, default_models, parley_serve
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, FakeUpstream]]:
    with (
        ThreadedUpstream(FakeUpstream(default_models())) as up,
        parley_serve(tmp_path, up.base_url) as (url, _),
    ):
        yield url, up


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
