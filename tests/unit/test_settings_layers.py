"""Settings: built-in defaults < config file < environment < flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parley import _constants as C
from parley.config import BUILTIN_PRESETS, Settings, config_path, load_settings
from parley.errors import ConfigError

FILE = """
model = "file/outer"
judge = "file/judge"
panel = ["file/a", "file/b"]
preset = "general-budget"

[presets.mine]
analysis_models = ["file/x"]
model = "file/x"

[providers.ollama]
base_url = "http://127.0.0.1:11434/v1"
key_env = "OLLAMA_API_KEY"
"""


@pytest.fixture
def config_file() -> Path:
    path = Path(os.environ[C.CONFIG_ENV])
    path.write_text(FILE)
    return path


def test_defaults_without_a_file() -> None:
    s = load_settings()
    assert (s.model, s.judge, s.panel, s.preset) == (None, None, None, C.DEFAULT_PRESET)
    assert set(BUILTIN_PRESETS) == {"general-high", "general-budget", "general-fast"}
    assert set(s.presets) == set(BUILTIN_PRESETS)


def test_the_file_overrides_defaults(config_file: Path) -> None:
    s = load_settings()
    assert (s.model, s.judge, s.panel, s.preset) == (
        "file/outer",
        "file/judge",
        ["file/a", "file/b"],
        "general-budget",
    )
    assert s.presets["mine"].analysis_models == ["file/x"]
    assert "general-high" in s.presets  # the file's presets add to the built-in ones
    assert s.providers["ollama"].key_env == "OLLAMA_API_KEY"


def test_the_environment_overrides_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_MODEL", "env/outer")
    monkeypatch.setenv("PARLEY_JUDGE", "env/judge")
    monkeypatch.setenv("PARLEY_PANEL", "env/a, env/b ,env/c")
    monkeypatch.setenv("PARLEY_PRESET", "general-fast")
    s = load_settings()
    assert (s.model, s.judge, s.panel, s.preset) == (
        "env/outer",
        "env/judge",
        ["env/a", "env/b", "env/c"],
        "general-fast",
    )


def test_flags_override_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_MODEL", "env/outer")
    monkeypatch.setenv("PARLEY_PANEL", "env/a")
    s = load_settings(overrides={"model": "flag/outer", "panel": ["flag/a"], "judge": None})
    assert (s.model, s.panel) == ("flag/outer", ["flag/a"])
    assert s.judge == "file/judge"  # a flag left unset does not erase the lower layers


def test_the_config_path_is_overridable(tmp_path: Path) -> None:
    assert config_path({C.CONFIG_ENV: str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_an_explicit_env_mapping_is_used_instead_of_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARLEY_MODEL", "process/outer")
    env = {C.CONFIG_ENV: str(tmp_path / "none.toml"), "PARLEY_MODEL": "mapping/outer"}
    assert load_settings(env=env).model == "mapping/outer"


def test_invalid_toml_names_the_file(config_file: Path) -> None:
    config_file.write_text("model = \n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(config_file) in str(err.value) and "TOML" in str(err.value)


def test_an_unknown_key_names_the_file_and_the_key(config_file: Path) -> None:
    config_file.write_text('modle = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(config_file) in str(err.value) and "modle" in str(err.value)


def test_a_panel_over_eight_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_PANEL", ",".join(f"v/m{i}" for i in range(9)))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("environment variable PARLEY_PANEL: panel:")


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings().preset_named("nope")
    assert "general-high" in str(err.value)


def _settings(**kw: object) -> Settings:
    presets = {"p": {"analysis_models": ["a/1", "a/2"]}, "q": {"analysis_models": ["b/1"]}}
    return Settings.model_validate({"presets": presets, "preset": "p", **kw})


def test_a_presets_outer_model_prefers_its_own_then_the_configured_model() -> None:
    assert _settings().outer_model_for() == "a/1"
    assert _settings(model="m/x").outer_model_for("q") == "m/x"
    presets = {"p": {"analysis_models": ["a/1"], "model": "j/1", "outer": "o/1"}}
    s = Settings.model_validate({"presets": presets, "preset": "p", "model": "m/x"})
    assert s.outer_model_for() == "o/1"
    s.presets["p"].outer = None
    assert s.outer_model_for("p") == "m/x"
    with pytest.raises(ConfigError, match="known presets: p"):
        s.outer_model_for("nope")


def test_the_default_judge_is_the_configured_one_then_the_outer_model() -> None:
    assert _settings(judge="j/x").judge_for(["a/1"], outer="o/1") == "j/x"
    assert _settings().judge_for(["a/1"], outer="o/1") == "o/1"
    assert _settings().judge_for(["z/9"]) == "z/9"
    presets = {"p": {"analysis_models": ["a/1"], "model": "j/1"}}
    assert Settings.model_validate({"presets": presets, "preset": "p"}).judge_for(["z"]) == "j/1"
