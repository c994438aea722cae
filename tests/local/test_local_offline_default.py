"""With no key and no models chosen, Parley runs on the bundled local models and says so;
a key or an explicit choice leaves the settings alone."""

from __future__ import annotations

from parley import offline
from parley.config import load_settings


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
