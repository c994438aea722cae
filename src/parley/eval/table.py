"""The report as a terminal table (rich, already a dependency of the CLI)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _seconds(latency: dict[str, Any], stage: str) -> str:
    s = latency.get(stage)
    return "-" if not s else f"{s['mean']:.2f}/{s['p50']:.2f}/{s['p95']:.2f}"


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(title="parley eval", title_justify="left")
    # The system column never wraps: its names are what `--systems` takes back.
    table.add_column("system", no_wrap=True)
    for heading in ("acc %", "95% CI", "n", "fail", "cost", "Δ fusion", "fix/broke", "p", "s"):
        table.add_column(heading, justify="right")
    for name in report["order"]:
        row = report["systems"][name]
        low, high = row["interval"]
        vs = row.get("vs_fusion")
        cost = "-" if row["cost"] is None else f"${row['cost']:.4f}"
        if row["cost"] is None and row["tokens"]:
            cost = f"{row['tokens']} tok"  # no reported cost: tokens say what it took
        table.add_row(
            name,
            _pct(row["accuracy"]),
            f"{_pct(low)}-{_pct(high)}",
            str(row["n"]),
            str(row["failed"]),
            cost,
            f"{100 * vs['fusion_minus_this']:+.1f}" if vs else "",
            f"{vs['fixed']}/{vs['broke']}" if vs else "",
            f"{vs['p_value']:.3g}" if vs else "",
            _seconds(row["latency"], "total"),
        )
    console.print(table)
    console.print("s: seconds per item, mean/p50/p95; Δ fusion: fusion minus this, points")
    console.print("s: seconds per item, mean/p50/p95; Δ fusion: fusion minus this, points")
    fusion = report["systems"].get("fusion")
    if fusion and fusion.get("ceiling"):
        c = fusion["ceiling"]
        console.print(
            f"any member right: {c['any_member_right']}/{c['n']}; "
            f"fusion right on {c['fusion_captured']} of them"
        )
    if fusion and fusion["latency"]:
        stages = ", ".join(
            f"{s} {_seconds(fusion['latency'], s)}"
            for s in ("panel", "judge", "outer")
            if s in fusion["latency"]
        )
        console.print(f"fusion latency by stage (s mean/p50/p95): {stages}")
    for problem in report["problems"]:
        console.print(f"warning: {problem}", markup=False)
