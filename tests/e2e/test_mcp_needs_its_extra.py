"""Without the `mcp` extra, `parley mcp` says how to install it instead of failing on an
import."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from parley.cli import cli
from parley.mcp import sdk


def test_parley_mcp_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "mcp" else real(name, package)

    monkeypatch.setattr(sdk.importlib.util, "find_spec", find_spec)
    res = CliRunner().invoke(cli, ["mcp"])
    assert res.exit_code == 1
    assert "pip install 'parley-llm[mcp]'" in res.output
