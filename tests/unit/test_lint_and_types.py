"""The package stays lint-clean and type-checks under mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The repository root, wherever this file sits below it.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_reports_nothing() -> None:
    proc = _run("ruff", "check", "src", "tests", "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_passes_on_the_package() -> None:
    proc = _run("mypy", "--strict", "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
