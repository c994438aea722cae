"""The layout keeps its promises: no import cycles, the core never imports a face, and
only the config module reads the environment (its table is the README's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from parley._dev import env_table, imports

# The repository root, wherever this file sits below it.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def test_no_import_cycle_and_no_core_module_imports_a_face() -> None:
    assert imports.problems() == []
    proc = subprocess.run(
        [sys.executable, "-m", "parley._dev.imports"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


def test_the_import_check_finds_a_cycle_and_a_face_import() -> None:
    g = {"parley.a": {"parley.b"}, "parley.b": {"parley.a"}, "parley.fusion.x": {"parley.cli"}}
    assert imports.cycles(g) == [["parley.a", "parley.b"]]
    assert imports.layer_violations(g) == [("parley.fusion.x", "parley.cli")]


def test_only_the_config_module_reads_the_environment() -> None:
    readers = sorted(
        str(p.relative_to(ROOT / "src"))
        for p in (ROOT / "src" / "parley").rglob("*.py")
        if re.search(r"os\.environ|os\.getenv", p.read_text())
    )
    assert readers == ["parley/config.py"]


def test_the_readme_lists_every_environment_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- env-table", 1)[1].split("-->", 1)[1]
    table = table.split("<!-- /env-table -->", 1)[0].strip()
    assert table == env_table.markdown()
