"""The HTML report as a pure function of the report: cost on the x axis when every system
reports one (tokens otherwise, said on the axis), a system with nothing scored left off the
plot and named, and round axis ticks."""

from __future__ import annotations

from typing import Any

import pytest

from parley.eval.html import render_html, ticks


def row(accuracy: float | None, cost: float | None, tokens: int = 100) -> dict[str, Any]:
    return {
        "accuracy": accuracy,
        "n": 10 if accuracy is not None else 0,
        "correct": int(10 * (accuracy or 0)),
        "failed": 0,
        "unscored": 0 if accuracy is not None else 3,
        "interval": [max(0.0, (accuracy or 0) - 0.2), min(1.0, (accuracy or 0) + 0.2)],
        "cost": cost,
        "tokens": tokens,
        "latency": {},
        "items": [],
    }


def report(**rows: dict[str, Any]) -> dict[str, Any]:
    return {"systems": rows, "order": list(rows), "problems": []}


def test_cost_is_on_the_x_axis_when_every_system_reports_it() -> None:
    page = render_html(report(fusion=row(0.8, 0.42), solo=row(0.6, 0.07)))
    assert "cost (USD, all items)" in page and "$0.42" in page
    assert page.count('<circle class="point"') == 2


def test_tokens_stand_in_for_a_missing_cost_and_unscored_systems_are_named() -> None:
    page = render_html(report(fusion=row(0.8, None, 900), rubric=row(None, None)))
    assert "tokens, all items (no cost reported)" in page
    assert page.count('<circle class="point"') == 1
    assert "Not plotted (nothing scored): rubric." in page
    assert "<th>ungraded</th>" in page  # shown because an item was


def test_ticks_are_round_and_cover_the_largest_value() -> None:
    assert ticks(942) == [0, 200, 400, 600, 800, 1000]
    assert ticks(0.42) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert ticks(0) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])  # nothing spent: a unit axis
