"""Local models without a model file: how a conversation becomes their prompt, and which
local model ids exist (and what an unknown or missing one says)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.errors import ConfigError, UnknownModelError
from parley.models.local.files import BUILTIN_IDS, find_spec, local_available, local_model_ids
from parley.models.local.prompt import normalize, render_plain


def test_tool_traffic_becomes_plain_turns() -> None:
    messages = [
        {"role": "user", "content": "Q?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "function": {"name": "fusion", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"status": "ok"})},
    ]
    out = normalize(messages)
    assert [m["role"] for m in out] == ["user"]
    assert "Result of the fusion tool:\nstatus: ok" in out[0]["content"]
    assert out[0]["content"].endswith("answer this request: Q?")  # the question comes last


def test_plain_prompt_ends_with_the_assistant_cue() -> None:
    rendered = render_plain([{"role": "user", "content": "Why?"}])
    assert rendered.text.endswith("User: Why?\nAssistant:")
    assert not rendered.parse_special


def test_unknown_local_model_names_the_known_ones() -> None:
    with pytest.raises(UnknownModelError, match="local/smollm2-135m-instruct"):
        find_spec("nope", {})


def test_configured_gguf_that_is_missing_names_the_key(tmp_path: Path) -> None:
    spec = find_spec("mine", {"mine": str(tmp_path / "missing.gguf")})
    with pytest.raises(ConfigError, match=r"local\.models\.mine"):
        spec.path()


def test_local_ids_are_listed_only_where_local_models_can_run() -> None:
    expected = [*BUILTIN_IDS, "local/mine"] if local_available() else []
    assert local_model_ids(["mine", BUILTIN_IDS[0].removeprefix("local/")]) == expected
