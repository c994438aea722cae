"""The report as one self-contained HTML page: the per-system table (the figures of the
terminal table and `--json`) and a cost-vs-accuracy scatter drawn as inline SVG.

Nothing is fetched: no CDN, no font, no script; the CSS is inline and follows the reader's
light or dark scheme. Every string is escaped, since system names and model ids come from
users.
"""

from __future__ import annotations

import html
import math
from typing import Any

from parley.eval.report import STAGES

_CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --bg: #ffffff; --rule: #d8dce4; --band: #f4f6fa;
  --point: #3867d6; --fusion: #d9480f; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e7ee; --muted: #9aa3b5; --bg: #141821; --rule: #343b4a; --band: #1b2030;
    --point: #7aa2ff; --fusion: #ff8a4c; }
}
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
  margin: 2rem auto; max-width: 1240px; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; }
p.note, figcaption, .small { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .5rem; border-bottom: 1px solid var(--rule); text-align: right;
  white-space: nowrap; }
th { font-weight: 600; } tbody tr:nth-child(odd) { background: var(--band); }
td.system, th.system { text-align: left; white-space: normal; overflow-wrap: break-word;
  min-width: 10em; max-width: 22em; }
tr.fusion td.system { font-weight: 700; color: var(--fusion); }
.wrap { overflow-x: auto; }
svg { width: 100%; max-width: 760px; height: auto; display: block; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg .axis, svg .tick { stroke: var(--muted); } svg .grid { stroke: var(--rule); }
svg .bar { stroke: var(--point); stroke-width: 1.5; } svg .point { fill: var(--point); }
svg .fusion .bar { stroke: var(--fusion); } svg .fusion .point { fill: var(--fusion); }
"""

DASH, MINUS = "\u2013", "\u2212"
NONE = DASH  # a figure that does not exist (no item scored, no cost reported)
W, H = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 20, 60


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(x: float | None, digits: int = 1) -> str:
    return NONE if x is None else f"{100 * x:.{digits}f}"


def _money(x: float) -> str:
    return f"${x:.3g}" if x < 1000 else f"${x:,.0f}"


def _seconds(latency: dict[str, Any], stage: str) -> str:
    s = latency.get(stage)
    return NONE if not s else f"{s['mean']:.2f} / {s['p50']:.2f} / {s['p95']:.2f}"


def _vs(row: dict[str, Any]) -> list[str]:
    vs = row.get("vs_fusion")
    if not vs:
        return ["", "", "", ""]
    low, high = vs["interval"]
    return [
        f"{100 * vs['fusion_minus_this']:+.1f}",
        f"{100 * low:+.1f} to {100 * high:+.1f}",
        f"{vs['p_value']:.3g}",
        f"{vs['fixed']} / {vs['broke']}",
    ]


def _rows(report: dict[str, Any], table_id: str, heads: list[str], cells: Any) -> str:
    """A table with one row per system: its name, then `cells(row)`."""
    out = [f'<div class="wrap"><table id="{table_id}"><thead><tr><th class="system">system</th>']
    out += [f"<th>{_e(h)}</th>" for h in heads]
    out.append("</tr></thead><tbody>")
    for name in report["order"]:
        css = ' class="fusion"' if name == "fusion" else ""
        out.append(f'<tr{css} data-system="{_e(name)}"><td class="system">{_e(name)}</td>')
        out += [f"<td>{_e(c)}</td>" for c in cells(report["systems"][name])]
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _interval(row: dict[str, Any]) -> str:
    if not row["n"]:
        return "-"  # nothing scored (vote on open answers): no interval to show
    low, high = row["interval"]
    return f"{_pct(low)}{DASH}{_pct(high)}"


# (heading, figure): the accuracy table's columns after the system's name.
COLUMNS: list[tuple[str, Any]] = [
    ("acc. %", lambda r: _pct(r["accuracy"])),
    ("95% CI", _interval),
    ("n", lambda r: str(r["n"])),
    ("failed", lambda r: str(r["failed"])),
    ("ungraded", lambda r: str(r.get("unscored", 0))),
    ("cost", lambda r: NONE if r["cost"] is None else _money(r["cost"])),
    ("tokens", lambda r: f"{r['tokens']:,}"),
    *(
        (heading, lambda r, i=i: _vs(r)[i])
        for i, heading in enumerate(
            [f"fusion {MINUS} this", "its 95% CI", "McNemar p", "fixed / broke"]
        )
    ),
]


def _tables(report: dict[str, Any]) -> str:
    rows = [report["systems"][n] for n in report["order"]]
    # As on the terminal: "failed" and "ungraded" show only when some item was.
    columns = [
        (h, f)
        for h, f in COLUMNS
        if h not in ("failed", "ungraded") or any(f(r) != "0" for r in rows)
    ]
    return (
        _rows(report, "systems", [h for h, _ in columns], lambda r: [f(r) for _, f in columns])
        + _ceiling(report)
        + "<h2>Seconds per item by stage: mean / p50 / p95</h2>"
        + _rows(
            report, "latency", list(STAGES), lambda r: [_seconds(r["latency"], s) for s in STAGES]
        )
    )


def ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high` (steps of 1, 2, 2.5 or 5 times 10^k)."""
    high = high if high > 0 else 1.0
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    return [i * step for i in range(math.ceil(high / step - 1e-9) + 1)]


def _scatter(report: dict[str, Any]) -> str:
    rows = {n: report["systems"][n] for n in report["order"]}
    plotted = {n: r for n, r in rows.items() if r["accuracy"] is not None}
    if not plotted:
        return '<p class="note">No system has a scored item yet: nothing to plot.</p>'
    by_cost = all(r["cost"] is not None for r in plotted.values())
    xs = {n: float(r["cost"] if by_cost else r["tokens"]) for n, r in plotted.items()}
    xt = ticks(max(xs.values()))
    xmax, pw, ph = xt[-1], W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(v: float) -> float:
        return LEFT + pw * v / xmax

    def py(v: float) -> float:
        return TOP + ph * (1 - v)

    out = [
        f'<svg id="scatter" viewBox="0 0 {W} {H}" role="img" '
        'aria-label="accuracy against cost or tokens, one point per system">'
    ]
    for t in (i / 5 for i in range(6)):
        y = py(t)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{t * 100:.0f}%</text>')
    for t in xt:
        x = px(t)
        label = _money(t) if by_cost else f"{t:,.0f}" if xmax >= 5 else f"{t:g}"
        out.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + ph}" y2="{TOP + ph + 5}"/>'
        )
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 19}" text-anchor="middle">{_e(label)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}"/>')
    xlabel = "cost (USD, all items)" if by_cost else "tokens, all items (no cost reported)"
    out.append(
        f'<text class="axis-label" x="{LEFT + pw / 2:.1f}" y="{H - 14}" '
        f'text-anchor="middle">{_e(xlabel)}</text>'
    )
    out.append(
        f'<text class="axis-label" transform="translate(16 {TOP + ph / 2:.1f}) rotate(-90)" '
        'text-anchor="middle">accuracy (95% interval)</text>'
    )
    for name, row in plotted.items():
        x, y = px(xs[name]), py(row["accuracy"])
        low, high = (py(v) for v in row["interval"])
        css = "system fusion" if name == "fusion" else "system"
        right = x > LEFT + pw * 0.7  # a label near the right edge goes to the left
        lx, anchor = (x - 8, "end") if right else (x + 8, "start")
        out += [
            f'<g class="{css}" data-system="{_e(name)}">',
            f"<title>{_e(name)}: {_pct(row['accuracy'])}% "
            f"({_pct(row['interval'][0])}{DASH}{_pct(row['interval'][1])})</title>",
            f'<line class="bar" x1="{x:.1f}" x2="{x:.1f}" y1="{low:.1f}" y2="{high:.1f}"/>',
            *(
                f'<line class="bar" x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{v:.1f}" y2="{v:.1f}"/>'
                for v in (low, high)
            ),
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="5"/>',
            f'<text class="label" x="{lx:.1f}" y="{y - 6:.1f}" text-anchor="{anchor}">'
            f"{_e(name)}</text>",
            "</g>",
        ]
    out.append("</svg>")
    left_out = [n for n in rows if n not in plotted]
    note = f" Not plotted (nothing scored): {_e(', '.join(left_out))}." if left_out else ""
    caption = f"One point per system; the bar is its 95% Wilson interval.{note}"
    return "".join(out) + f"<figcaption>{caption}</figcaption>"


def _ceiling(report: dict[str, Any]) -> str:
    fusion = report["systems"].get("fusion") or {}
    c = fusion.get("ceiling")
    if not c:
        return ""
    return (
        f'<p id="ceiling">Any panel member right: <b>{c["any_member_right"]}</b> of {c["n"]} '
        f"items; fusion right on <b>{c['fusion_captured']}</b> of them.</p>"
    )


def render_html(report: dict[str, Any], title: str = "parley eval") -> str:
    """The report (as `build_report` gives it) as a self-contained HTML page."""
    problems = "".join(f"<li>{_e(p)}</li>" for p in report.get("problems") or [])
    return "".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="color-scheme" content="light dark">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            '<p class="note">Accuracy with its 95% Wilson interval over the items scored; '
            "cost from the reported usage (tokens where none was reported); seconds per item "
            "as mean / p50 / p95 by stage. Against fusion: fusion's accuracy minus this "
            "system's on the items both answered, the exact McNemar p, and the items fusion "
            "fixed / broke. Ungraded: rubric items with no grader verdict, not counted.</p>",
            "<h2>Systems</h2>",
            _tables(report),
            "<h2>Cost against accuracy</h2><figure>",
            _scatter(report),
            "</figure>",
            f'<h2>Warnings</h2><ul id="problems">{problems}</ul>' if problems else "",
            "</body></html>\n",
        ]
    )
