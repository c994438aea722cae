"""Local-model pieces that need no model file: grammar, JSON closing, prompts, offline default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley import offline
from parley.config import load_settings
from parley.errors import ConfigError, UnknownModelError
from parley.fusion.judge import SCHEMA, read_verdict
from parley.models.local.files import find_spec
from parley.models.local.grammar import schema_to_gbnf
from parley.models.local.jsontrack import JsonTracker
from parley.models.local.prompt import normalize, render_plain

ANALYSIS = {
    "consensus": ['a "quoted" point', "b\\c"],
    "contradictions": [{"topic": "t", "stances": [{"model": "m", "stance": "s"}]}],
    "partial_coverage": [{"models": ["x", "y"], "point": "p"}],
    "unique_insights": [{"model": "x", "insight": "i"}],
    "blind_spots": ["z"],
}


def test_truncated_json_is_closed_into_a_valid_analysis_at_every_cut() -> None:
    text = json.dumps(ANALYSIS)
    for cut in range(len(text) + 1):
        tracker = JsonTracker(SCHEMA)
        tracker.feed(text[:cut])
        verdict = read_verdict(text[:cut] + tracker.closing())
        assert verdict.analysis is not None, (cut, verdict.detail)


def test_tracker_knows_when_the_document_is_complete() -> None:
    tracker = JsonTracker(SCHEMA)
    tracker.feed(json.dumps(ANALYSIS)[:-1])
    assert not tracker.complete
    tracker.feed("}")
    assert tracker.complete
    assert tracker.closing() == ""


def test_analysis_grammar_fixes_key_order_and_bounds_strings_and_arrays() -> None:
    grammar = schema_to_gbnf(SCHEMA)
    assert grammar is not None
    assert grammar.startswith("root ::= ")
    assert '"\\"consensus\\""' in grammar and '"\\"blind_spots\\""' in grammar
    assert "char{0,240}" in grammar
    assert "{0,2}" in grammar  # at most three items per array
    assert "\\x00-\\x1f" in grammar  # raw control characters are not valid JSON


def test_schema_outside_the_subset_falls_back() -> None:
    assert schema_to_gbnf({"$ref": "#/defs/x"}) is None
    assert schema_to_gbnf({"type": "string", "pattern": "^a+$"}) is None


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


def test_no_key_fills_in_local_models_and_says_so() -> None:
    settings, notice = offline.apply(load_settings({}))
    assert settings.model == offline.OUTER
    assert settings.panel == list(offline.PANEL)
    assert len(set(settings.panel)) >= 2
    assert notice is not None and "OPENROUTER_API_KEY" in notice and "\n" not in notice


def test_a_key_or_explicit_models_leave_settings_alone() -> None:
    settings = load_settings()
    keyed = settings.with_env({"OPENROUTER_API_KEY": "k"})
    assert offline.apply(keyed) == (keyed, None)
    mine = load_settings(overrides={"model": "m", "panel": ["a", "b"], "judge": "j"})
    assert offline.apply(mine.with_env({}))[1] is None


def test_only_the_missing_pieces_are_filled() -> None:
    settings, _ = offline.apply(load_settings({}, overrides={"model": "local/x"}))
    assert settings.model == "local/x"
    assert settings.judge == offline.JUDGE
