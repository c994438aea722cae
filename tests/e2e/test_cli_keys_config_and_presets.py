"""`parley keys`, `config`, `models` and `presets`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_kit import any_model
from parley.cli import cli
from parley.config import load_keys
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

SECRET = "sk-or-v1-0123456789abcdef0123456789abcdef"


def test_keys_set_reads_stdin_and_writes_0600() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["keys", "set", "openrouter"], input=SECRET + "\n")
    assert res.exit_code == 0, res.output
    path = Path(os.environ["PARLEY_KEYS"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys() == {"openrouter": SECRET}
    assert SECRET not in res.output


def test_keys_set_tightens_an_existing_loose_file() -> None:
    path = Path(os.environ["PARLEY_KEYS"])
    path.write_text("{}")
    path.chmod(0o644)
    assert CliRunner().invoke(cli, ["keys", "set", "openai"], input=SECRET).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_are_never_printed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["keys", "set", "openrouter"], input=SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "x" * 30 + "tail")
    res = runner.invoke(cli, ["keys", "list"])
    assert res.exit_code == 0
    assert SECRET not in res.output and "x" * 30 not in res.output
    assert "sk-or…cdef" in res.output and "$OPENAI_API_KEY" in res.output
    rows = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).stdout)
    assert {r["name"] for r in rows} == {"openrouter", "openai"}
    assert runner.invoke(cli, ["keys", "remove", "openrouter"]).exit_code == 0
    assert load_keys() == {}


def test_keys_set_refuses_an_empty_key_and_a_strange_name() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "set", "openrouter"], input="\n").exit_code == 1
    assert runner.invoke(cli, ["keys", "set", "a b"], input=SECRET).exit_code == 2
    assert not Path(os.environ["PARLEY_KEYS"]).exists()


def test_keys_path_and_config_path_follow_the_environment() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "path"]).stdout.strip() == os.environ["PARLEY_KEYS"]
    assert runner.invoke(cli, ["config", "path"]).stdout.strip() == os.environ["PARLEY_CONFIG"]


def test_config_show_merges_file_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(os.environ["PARLEY_CONFIG"]).write_text(
        'model = "vendor/outer"\n[presets.mine]\nanalysis_models = ["vendor/a"]\n'
    )
    monkeypatch.setenv("PARLEY_JUDGE", "vendor/judge")
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["config", "show", "--json"]).stdout)
    assert data["model"] == "vendor/outer" and data["judge"] == "vendor/judge"
    assert list(data["presets"]) == ["mine"]  # built-ins only with --all
    text = runner.invoke(cli, ["config", "show"]).stdout
    assert 'model = "vendor/outer"' in text and "[presets.mine]" in text
    assert "general-high" in runner.invoke(cli, ["config", "show", "--all"]).stdout


def test_config_show_masks_credential_headers() -> None:
    Path(os.environ["PARLEY_CONFIG"]).write_text(
        '[providers.corp]\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'headers = {{ Authorization = "Bearer {SECRET}", X-Api-Key = "{SECRET}", '
        'X-Team = "research" }\n'
    )
    runner = CliRunner()
    for args in (["config", "show", "--json"], ["config", "show"]):
        out = runner.invoke(cli, args).stdout
        assert SECRET not in out and "research" in out
    data = json.loads(runner.invoke(cli, ["config", "show", "--json"]).stdout)
    assert data["providers"]["corp"]["headers"]["Authorization"].startswith("Bearer sk-or")


def test_config_show_masks_a_credential_header_whose_value_has_spaces() -> None:
    """Only an Authorization scheme ("Bearer", "Basic") stays readable: a cookie's or an
    API key's first word is as secret as the rest."""
    Path(os.environ["PARLEY_CONFIG"]).write_text(
        '[providers.corp]\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'headers = {{ Cookie = "session={SECRET}; theme=dark", '
        f'X-Api-Key = "{SECRET} v2" }}\n'
    )
    runner = CliRunner()
    for args in (["config", "show", "--json"], ["config", "show"]):
        out = runner.invoke(cli, args).stdout
        assert SECRET not in out


def test_config_edit_creates_a_template_and_checks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "true")
    res = CliRunner().invoke(cli, ["config", "edit"])
    assert res.exit_code == 0, res.output
    assert "precedence" in Path(os.environ["PARLEY_CONFIG"]).read_text().lower()
    Path(os.environ["PARLEY_CONFIG"]).write_text("modle = 'typo'\n")
    res = CliRunner().invoke(cli, ["config", "edit"])
    assert res.exit_code == 1 and "modle" in res.stderr


def test_bad_config_is_one_line_for_any_command() -> None:
    Path(os.environ["PARLEY_CONFIG"]).write_text("model = [\n")
    res = CliRunner().invoke(cli, ["presets"])
    assert res.exit_code == 1
    assert "not valid TOML" in res.stderr and "Traceback" not in res.stderr


def test_presets_lists_named_panels() -> None:
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["presets", "--json"]).stdout)
    assert {"general-high", "general-budget", "general-fast"} <= set(data)
    assert data["general-high"]["default"] is True
    assert "general-fast" in runner.invoke(cli, ["presets"]).stdout


def test_models_lists_aliases_local_and_each_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    with ThreadedUpstream(FakeUpstream({"vendor/a": any_model(), "vendor/b": any_model()})) as up:
        monkeypatch.setenv("OPENROUTER_BASE_URL", up.base_url)
        Path(os.environ["PARLEY_CONFIG"]).write_text(
            f'[providers.lab]\nbase_url = "{up.base_url}"\n'
        )
        res = CliRunner().invoke(cli, ["models", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["aliases"]["openrouter/fusion"] == "preset general-high"
    assert "local/smollm2-135m-instruct" in data["local"]
    by_name = {p["name"]: p for p in data["providers"]}
    assert by_name["openrouter"]["models"] == ["vendor/a", "vendor/b"]
    assert by_name["lab"]["models"] == ["lab/vendor/a", "lab/vendor/b"]


def test_models_reports_an_unreachable_provider_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code == 0, res.output
    assert "openai" in res.stdout and "cannot list models" in res.stdout


def test_keys_set_under_an_unknown_name_says_so() -> None:
    res = CliRunner().invoke(cli, ["keys", "set", "openruoter"], input=SECRET)
    assert res.exit_code == 0
    assert "no provider is named 'openruoter'" in res.stderr and "openrouter" in res.stderr
