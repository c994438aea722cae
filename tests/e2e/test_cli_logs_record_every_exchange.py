"""The deliberation log: `ask` records the whole exchange (unless told not to, and at the
cost of a warning only when it cannot), `logs` lists and searches, `logs show` prints every
part, and `-c`/`--cid` continue a conversation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_kit import ANALYSIS_HEADINGS
from parley.cli import cli
from parley.config import load_settings
from parley.store import LogStore
from parley.testing.upstream import FakeUpstream


def store() -> LogStore:
    return LogStore(load_settings().log_path())


def _ask(runner: CliRunner, *args: str) -> dict[str, object]:
    res = runner.invoke(cli, ["ask", "--json", *args])
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.stdout)
    return out


def test_ask_logs_the_whole_exchange(runner: CliRunner) -> None:
    out = _ask(runner, "Why is the sky blue?")
    entry = store().get(str(out["id"]))
    assert entry.question == "Why is the sky blue?"
    assert entry.answer == out["answer"]
    assert entry.model == "vendor/outer"
    assert entry.usage["total_tokens"] == out["usage"]["total_tokens"]  # type: ignore[index]
    [d] = entry.deliberations
    assert d.panel == ["vendor/a", "vendor/b"] and d.judge == "vendor/judge"
    assert [r.model for r in d.responses] == ["vendor/a", "vendor/b"]
    assert d.analysis is not None and d.analysis["blind_spots"]
    assert d.status == "ok" and "total" in d.timings
    assert (
        load_settings({**os.environ, "PARLEY_LOG_DB": ""})
        .log_path()
        .is_relative_to(Path(os.environ["XDG_DATA_HOME"]))
    )


def test_logs_lists_searches_and_limits(runner: CliRunner) -> None:
    _ask(runner, "Why is the sky blue?")
    _ask(runner, "Why is grass green?")
    listed = json.loads(runner.invoke(cli, ["logs", "--json"]).stdout)
    assert [e["question"] for e in listed] == ["Why is grass green?", "Why is the sky blue?"]
    assert listed[0]["panel"] == ["vendor/a", "vendor/b"]
    assert len(json.loads(runner.invoke(cli, ["logs", "--json", "-n", "1"]).stdout)) == 1
    found = json.loads(runner.invoke(cli, ["logs", "--json", "-q", "grass"]).stdout)
    assert [e["question"] for e in found] == ["Why is grass green?"]
    table = runner.invoke(cli, ["logs"]).stdout
    assert "Why is grass green?" in table and listed[1]["id"] in table


def test_logs_show_prints_every_part(runner: CliRunner) -> None:
    out = _ask(runner, "-s", "Be brief.", "Why is the sky blue?")
    res = runner.invoke(cli, ["logs", "show", str(out["id"])[:14]])
    assert res.exit_code == 0, res.output
    text = res.stdout
    for part in (
        "System",
        "Be brief.",
        "Question",
        "Panel: vendor/a",
        "Panel: vendor/b",
        *ANALYSIS_HEADINGS,
        "Answer",
        str(out["answer"]),
        "Usage",
        "tokens",
        "time: total",
    ):
        assert part in text, part
    whole = json.loads(runner.invoke(cli, ["logs", "show", "--json"]).stdout)
    assert whole["id"] == out["id"]
    assert whole["deliberations"][0]["responses"][0]["content"].startswith("vendor/a says")


def test_logs_show_unknown_id_is_one_line(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["logs", "show", "nope"])
    assert res.exit_code == 1 and "no log entry 'nope'" in res.stderr


def test_continue_sends_earlier_turns(runner: CliRunner, up: FakeUpstream) -> None:
    first = _ask(runner, "-s", "Be brief.", "Why is the sky blue?")
    second = _ask(runner, "-c", "And at sunset?")
    assert second["conversation_id"] == first["conversation_id"]
    outer = [r.body for r in up.requests if r.body["model"] == "vendor/outer"][-1]
    assert [m["role"] for m in outer["messages"][:4]] == ["system", "user", "assistant", "user"]
    assert outer["messages"][0]["content"] == "Be brief."
    assert outer["messages"][1]["content"] == "Why is the sky blue?"
    assert outer["messages"][2]["content"] == first["answer"]
    assert outer["messages"][3]["content"] == "And at sunset?"
    third = _ask(runner, "--cid", str(first["conversation_id"]), "And on Mars?")
    assert third["conversation_id"] == first["conversation_id"]
    # `parley logs` shows exchange ids; any of them (or a prefix) names the conversation.
    fourth = _ask(runner, "--cid", str(third["id"])[:15], "And on Venus?")
    assert fourth["conversation_id"] == first["conversation_id"]
    assert first["id"] == first["conversation_id"]
    assert len(store().conversation(str(first["conversation_id"]))) == 4


def test_continue_with_nothing_logged_says_so(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "-c", "Hello?"])
    assert res.exit_code == 1 and "no logged conversation" in res.stderr


def test_no_log_flag_and_config_switch(runner: CliRunner) -> None:
    _ask(runner, "-n", "Not logged")
    Path(os.environ["PARLEY_CONFIG"]).write_text("log = false\n")
    _ask(runner, "Not logged either")
    assert store().recent() == []


def test_an_unwritable_log_costs_a_warning_not_the_answer(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_LOG_DB", str(tmp_path))  # a directory: SQLite cannot open it
    res = runner.invoke(cli, ["ask", "-q", "Why is the sky blue?"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("The sky is blue")
    assert res.stderr.startswith("Warning: not logged:")
