"""Readable sections for a deliberation and a log entry (`--show-panel`, `logs show`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from parley.store import DeliberationRecord, Entry


def _heading(console: Console, title: str) -> None:
    console.print()
    console.print(f"[bold underline]{escape(title)}[/]")


def _analysis(console: Console, analysis: dict[str, Any]) -> None:
    def bullets(title: str, items: list[str]) -> None:
        console.print(f"[bold]{title}[/]")
        for item in items or ["(none)"]:
            console.print(f"  - {escape(item)}")

    bullets("Consensus", [str(c) for c in analysis.get("consensus", [])])
    contradictions = []
    for c in analysis.get("contradictions", []):
        stances = "; ".join(f"{s.get('model')}: {s.get('stance')}" for s in c.get("stances", []))
        contradictions.append(f"{c.get('topic')} ({stances})")
    bullets("Contradictions", contradictions)
    bullets(
        "Partial coverage",
        [
            f"{p.get('point')} ({', '.join(p.get('models', []))})"
            for p in analysis.get("partial_coverage", [])
        ],
    )
    bullets(
        "Unique insights",
        [f"{u.get('model')}: {u.get('insight')}" for u in analysis.get("unique_insights", [])],
    )
    bullets("Blind spots", [str(b) for b in analysis.get("blind_spots", [])])


def print_deliberation(console: Console, d: DeliberationRecord, *, timings: bool = False) -> None:
    """Each panelist's answer, the failures, the analysis and the sources."""
    for r in d.responses:
        took = f" ({r.seconds:.1f} s)" if timings and r.seconds is not None else ""
        _heading(console, f"Panel: {r.model}{took}")
        console.print(escape(r.content))
    for f in d.failed:
        code = f" [{f['status_code']}]" if f.get("status_code") else ""
        _heading(console, f"Panel: {f.get('model')} failed{code}")
        console.print(escape(str(f.get("error", ""))))
    _heading(console, f"Analysis{f' by {d.judge}' if d.judge else ''}")
    if d.analysis is not None:
        _analysis(console, d.analysis)
    else:
        console.print(f"(no analysis: {d.failure_reason or d.status})")
    if d.sources:
        _heading(console, "Sources")
        for s in d.sources:
            title = f"{s.get('title')} " if s.get("title") else ""
            console.print(f"  - {escape(title)}{escape(str(s.get('url')))}")


def usage_line(usage: dict[str, Any], cost: float | None = None) -> str:
    """`123 prompt + 45 completion = 168 tokens · $0.0012`."""
    text = (
        f"{usage.get('prompt_tokens', 0)} prompt + {usage.get('completion_tokens', 0)} "
        f"completion = {usage.get('total_tokens', 0)} tokens"
    )
    cost = cost if cost is not None else usage.get("cost")
    if cost is not None:
        text += f" · ${cost:.6f}".rstrip("0").rstrip(".")
    searches = (usage.get("server_tool_use_details") or {}).get("web_search_requests")
    if searches:
        text += f" · {searches} web searches"
    return text


def print_entry(console: Console, e: Entry) -> None:
    """A whole log entry: question, panel, failures, analysis, sources, answer, usage."""
    console.print(f"[bold]{escape(e.id)}[/]  {e.created_at}  {escape(e.model)}  [{e.status}]")
    console.print(f"conversation {escape(e.conversation_id)} · via {e.source}")
    if e.system:
        _heading(console, "System")
        console.print(escape(e.system))
    _heading(console, "Question")
    console.print(escape(e.question))
    for d in e.deliberations:
        if d.question and d.question != e.question:
            _heading(console, "Question put to the panel")
            console.print(escape(d.question))
        print_deliberation(console, d, timings=True)
    _heading(console, "Answer")
    console.print(escape(e.answer) if e.answer else f"(no answer: {e.error or e.status})")
    _heading(console, "Usage")
    console.print(usage_line(e.usage, e.cost))
    timing = [f"total {e.seconds:.1f} s"] if e.seconds is not None else []
    for d in e.deliberations:
        if "total" in d.timings:
            timing.append(f"deliberation {d.timings['total']:.1f} s")
    if timing:
        console.print("time: " + ", ".join(timing))
