"""The judge's JSON from a local model is always valid: a grammar fixes its shape, and an
answer cut by the token budget is closed into a valid analysis."""

from __future__ import annotations

import json

from parley.fusion.judge import SCHEMA, read_verdict
from parley.models.local.grammar import schema_to_gbnf
from parley.models.local.jsontrack import JsonTracker
from parley.testing import ANALYSIS

# The canned analysis with strings that need escaping, so cuts land inside escapes too.
TRICKY = {**ANALYSIS, "consensus": ['a "quoted" point', "b\\c"]}


def test_truncated_json_is_closed_into_a_valid_analysis_at_every_cut() -> None:
    text = json.dumps(TRICKY)
    for cut in range(len(text) + 1):
        tracker = JsonTracker(SCHEMA)
        tracker.feed(text[:cut])
        verdict = read_verdict(text[:cut] + tracker.closing())
        assert verdict.analysis is not None, (cut, verdict.detail)


def test_tracker_knows_when_the_document_is_complete() -> None:
    tracker = JsonTracker(SCHEMA)
    tracker.feed(json.dumps(TRICKY)[:-1])
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
