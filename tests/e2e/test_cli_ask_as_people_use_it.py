"""`parley ask` as people use it: streaming, --json, stdin, flags, usage, errors."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

from click.testing import CliRunner

from cli_kit import (
    ANALYSIS_HEADINGS,
    GatedModel,
    any_model,
    any_model_reply,
    cli_env,
    run_parley,
    spawn_parley,
)
from parley.cli import cli
from parley.errors import UpstreamError
from parley.testing import ANALYSIS
from parley.testing.models import FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


def test_answer_streams_to_stdout_while_it_is_written() -> None:
    gate = threading.Event()
    outer = GatedModel(any_model_reply, gate, before=2)
    upstream = FakeUpstream({"vendor/outer": outer}, default=any_model())
    with (
        ThreadedUpstream(upstream) as up,
        spawn_parley(
            cli_env(up.base_url), "ask", "-n", "Why is the sky blue?", stderr=subprocess.DEVNULL
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            first = proc.stdout.read(len("The sky "))
            # The outer model is held mid-answer, yet its first words are already out.
            assert first == "The sky "
            assert proc.poll() is None
        finally:
            gate.set()
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert first + rest == "The sky is blue because of Rayleigh scattering, say 2 panelists.\n"


def test_json_has_answer_fusion_usage_and_ids_and_flags_pick_the_models(up: FakeUpstream) -> None:
    # The flags win over the environment's choices.
    env = cli_env(
        up.base_url,
        PARLEY_MODEL="vendor/x",
        PARLEY_PANEL="vendor/x,vendor/y",
        PARLEY_JUDGE="vendor/x",
    )
    args = ["--model", "vendor/outer", "--panel", "vendor/a,vendor/b", "--judge", "vendor/judge"]
    proc = run_parley(env, "ask", *args, "--json", "Why is the sky blue?")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"id", "conversation_id", "answer", "model", "fusion", "usage", "seconds"}
    assert out["answer"] == "The sky is blue because of Rayleigh scattering, say 2 panelists."
    assert out["model"] == "vendor/outer"
    assert out["fusion"]["status"] == "ok"
    assert [r["model"] for r in out["fusion"]["responses"]] == ["vendor/a", "vendor/b"]
    assert out["fusion"]["analysis"] == ANALYSIS
    assert {r.body["model"] for r in up.requests} == {
        "vendor/outer",
        "vendor/a",
        "vendor/b",
        "vendor/judge",
    }
    assert out["usage"]["total_tokens"] > 0
    assert out["id"] and out["conversation_id"]


def test_question_from_stdin(runner: CliRunner, up: FakeUpstream) -> None:
    res = runner.invoke(cli, ["ask", "--no-stream"], input="What colour is the sky?\n")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("The sky is blue")
    panel_bodies = [r.body for r in up.requests if r.body.get("model") == "vendor/a"]
    assert "What colour is the sky?" in json.dumps(panel_bodies[0]["messages"])


def test_empty_stdin_is_a_usage_error(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask"], input="")
    assert res.exit_code == 2
    assert "empty" in res.stderr


def test_flags_reach_the_right_calls(runner: CliRunner, up: FakeUpstream) -> None:
    res = runner.invoke(
        cli,
        [
            "ask",
            "-s",
            "Answer in one line.",
            "--temperature",
            "0.3",
            "--no-tools",
            "--max-tool-calls",
            "2",
            "-o",
            "max_completion_tokens",
            "99",
            "Why?",
        ],
    )
    assert res.exit_code == 0, res.output
    outer = [r.body for r in up.requests if r.body["model"] == "vendor/outer"]
    assert outer[0]["messages"][0] == {"role": "system", "content": "Answer in one line."}
    panel = next(r.body for r in up.requests if r.body["model"] == "vendor/a")
    assert panel["temperature"] == 0.3
    assert panel["max_completion_tokens"] == 99
    assert "tools" not in panel  # --no-tools: the panel is offered nothing


def test_preset_picks_panel_judge_and_outer(runner: CliRunner, up: FakeUpstream) -> None:
    Path(os.environ["PARLEY_CONFIG"]).write_text(
        '[presets.mine]\nanalysis_models = ["vendor/x", "vendor/y"]\n'
        'model = "vendor/j"\nouter = "vendor/o"\n'
    )
    res = runner.invoke(
        cli,
        ["ask", "--preset", "mine", "--json", "Why?"],
        env={"PARLEY_MODEL": "", "PARLEY_PANEL": "", "PARLEY_JUDGE": ""},
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["model"] == "vendor/o"
    assert [r["model"] for r in out["fusion"]["responses"]] == ["vendor/x", "vendor/y"]
    assert any(r.body["model"] == "vendor/j" for r in up.requests)


def test_show_panel_and_usage(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "--show-panel", "-u", "Why is the sky blue?"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    for section in ("Panel: vendor/a", "Panel: vendor/b", *ANALYSIS_HEADINGS, "Answer"):
        assert section in out
    assert out.index("Blind spots") < out.index("The sky is blue")
    assert ANALYSIS["unique_insights"][0]["insight"] in out
    assert "tokens" in res.stderr.splitlines()[-1]


def test_plain_progress_lines_when_stderr_is_not_a_terminal(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "Why?"])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert "vendor/a: waiting" in lines
    assert any(line.startswith("vendor/b: done in") for line in lines)
    assert "judge vendor/judge: comparing the answers" in lines
    assert "answer: vendor/outer writing the answer" in lines
    assert runner.invoke(cli, ["ask", "-q", "Why?"]).stderr == ""


def test_bad_parameter_is_one_line(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "--temperature", "7", "Why?"])
    assert res.exit_code == 2
    assert "temperature" in res.stderr and "Traceback" not in res.stderr


def test_unknown_preset_names_the_known_ones(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "--preset", "nope", "Why?"])
    assert res.exit_code == 1
    assert "general-high" in res.stderr


def test_outer_upstream_error_is_one_clear_line() -> None:
    def broken(req: object) -> str:
        raise UpstreamError("model is overloaded", 503)

    upstream = FakeUpstream({"vendor/outer": FunctionModel(broken)}, default=any_model())
    with ThreadedUpstream(upstream) as up:
        proc = run_parley(cli_env(up.base_url), "ask", "Why?")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "overloaded" in proc.stderr
