"""The flags that choose the models and steer the panel, shared by `ask` and `eval` so that
an evaluation measures exactly the deliberation `parley ask` would run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from parley.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

_FLAGS = (
    click.option("-m", "--model", help="Outer model that writes the final answer."),
    click.option("--panel", help="Comma-separated panel model ids (1-8)."),
    click.option("--judge", help="Judge (analyst) model id."),
    click.option("--preset", help="A named panel (see `parley presets`)."),
    click.option(
        "-o",
        "--option",
        "options",
        type=(str, str),
        multiple=True,
        metavar="KEY VALUE",
        help="Any fusion parameter, e.g. -o max_completion_tokens 800 (JSON values parse).",
    ),
    click.option("--no-tools", is_flag=True, help="Panel and judge get no web tools."),
)


def panel_flags(f: F) -> F:
    """-m, --panel, --judge, --preset, -o KEY VALUE and --no-tools, in that order."""
    for flag in reversed(_FLAGS):
        f = flag(f)
    return f


def split_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [m.strip() for m in value.split(",") if m.strip()]


def preset_models(
    settings: Settings, preset: str | None, panel: list[str] | None, judge: str | None
) -> tuple[list[str] | None, str | None, str | None]:
    """The panel, judge and outer model a `--preset` names, where the flags named none:
    (panel, judge, outer), the outer None when neither named one."""
    if not preset or panel:
        return panel, judge, None
    chosen = settings.preset_named(preset)
    return list(chosen.analysis_models), judge or chosen.model, chosen.outer
