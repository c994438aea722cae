"""The report as a terminal table (rich, already a dependency of the CLI), narrow enough
for 80 columns; `--json` has every figure in full."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}"


def _seconds(latency: dict[str, Any], stage: str) -> str:
    s = latency.get(stage)
    return "-" if not s else f"{s['mean']:.1f}/{s['p50']:.1f}/{s['p95']:.1f}"


def _cost(row: dict[str, Any]) -> str:
    if row["cost"] is not None:
        return f"${row['cost']:.3g}"
    return f"{row['tokens']} tok" if row["tokens"] else "-"  # no cost reported: tokens


def _vs(row: dict[str, Any]) -> tuple[str, str]:
    """Fusion minus this system (points) with the items fusion fixed/broke, and the p."""
    vs = row.get("vs_fusion")
    if not vs:
        return "", ""
    diff = f"{100 * vs['fusion_minus_this']:+.0f} {vs['fixed']}/{vs['broke']}"
    return diff, f"{vs['p_value']:.2g}"


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title="parley eval",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    # No figure wraps (a split number misreads); on a narrow terminal a long system name
    # folds instead, whole. "failed" shows only when an item failed.
    any_failed = any(report["systems"][n]["failed"] for n in report["order"])
    table.add_column("system", overflow="fold")
    headings = ["acc%", "95% CI", "n", *(["failed"] if any_failed else [])]
    for heading in [*headings, "cost", "fusion±", "p", "s"]:
        table.add_column(heading, justify="right", no_wrap=True)
    unscored = []
    for name in report["order"]:
        row = report["systems"][name]
        if not row["n"] and not row["failed"]:
            # Nothing to score (vote on open answers): an empty 0-100 interval would mislead.
            unscored.append(name)
            table.add_row(name, "-", "-", "0", *(["0"] if any_failed else []), "-", "", "", "-")
            continue
        low, high = row["interval"]
        latency = row["latency"].get("total")
        table.add_row(
            name,
            _pct(row["accuracy"]),
            f"{_pct(low)}-{_pct(high)}",
            str(row["n"]),
            *([str(row["failed"])] if any_failed else []),
            _cost(row),
            *_vs(row),
            f"{latency['mean']:.1f}" if latency else "-",
        )
    console.print(table)
    console.print(
        "fusion±: fusion's accuracy minus this system's (points) on the items both answered, "
        "items fusion fixed/broke; p: exact McNemar; s: mean seconds per item"
    )
    if "vote" in unscored:
        console.print("vote: no item it can score (a vote needs exact, number or choice answers)")
    ungraded = sum(report["systems"][n].get("unscored", 0) for n in report["order"])
    if ungraded:
        console.print(
            f"ungraded: {ungraded} rubric answers with no grader verdict, left out of n "
            "(see the warnings; --grader MODEL names a grader)"
        )
    fusion = report["systems"].get("fusion")
    if fusion and fusion.get("ceiling"):
        c = fusion["ceiling"]
        console.print(
            f"any member right: {c['any_member_right']}/{c['n']}; "
            f"fusion right on {c['fusion_captured']} of them"
        )
    if fusion and {"panel", "judge", "outer"} & set(fusion["latency"]):
        stages = ", ".join(
            f"{s} {_seconds(fusion['latency'], s)}"
            for s in ("panel", "judge", "outer")
            if s in fusion["latency"]
        )
        console.print(f"fusion seconds by stage (mean/p50/p95): {stages}")
    for problem in report["problems"]:
        console.print(f"warning: {problem}", markup=False)
