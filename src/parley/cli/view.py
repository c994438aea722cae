"""How a deliberation looks while it runs: a live panel on a terminal, plain lines elsewhere.

Both read the run's events (`parley.engine.events`) and keep one line of state per
panel member: waiting, searching, fetching, writing (with a token count), done in N s, or
failed with the reason; then the judge, then the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from parley import _constants as C
from parley.fusion import events as ev

_ACTIVE = {"waiting", "searching", "fetching", "using", "writing", "comparing"}


@dataclass
class Line:
    """One row of the view: who, and what they are doing now."""

    model: str
    state: str = "waiting"
    detail: str = ""
    tokens: int = 0
    seconds: float | None = None

    def describe(self) -> str:
        """This line's status text (writing, done in N s, failed: why)."""
        if self.state == "writing":
            return f"writing · {self.tokens} tokens" if self.tokens else self.detail or "writing"
        if self.state == "done":
            took = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
            counted = f" · {self.tokens} tokens" if self.tokens else ""
            return f"done{took}{counted}"
        if self.state in ("searching", "fetching", "using", "failed", "skipped"):
            return f"{self.state} {self.detail}".strip()
        return self.detail or self.state


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _tool_line(line: Line, tool: str, arguments: dict[str, Any]) -> None:
    if tool == C.WEB_SEARCH_TOOL:
        line.state, line.detail = "searching", f'"{_clip(str(arguments.get("query", "")), 40)}"'
    elif tool == C.WEB_FETCH_TOOL:
        line.state, line.detail = "fetching", _clip(str(arguments.get("url", "")), 50)
    else:
        line.state, line.detail = "using", tool


class ProgressState:
    """Panel, judge and answer lines, updated from events."""

    def __init__(self, outer_model: str = "") -> None:
        self.panel: list[Line] = []
        self.judge: Line | None = None
        self.answer = Line(outer_model, "pending", "waiting for the panel")

    def interrupt(self) -> None:
        """Mark whatever was still running as stopped (Ctrl-C)."""
        for line in [*self.panel, self.judge, self.answer]:
            if line is not None and line.state in _ACTIVE | {"pending"}:
                line.state, line.detail = "stopped", "stopped"

    def apply(self, event: object) -> Line | None:
        """Update from one event; returns the line that changed, if any."""
        if isinstance(event, ev.PanelAdded):
            if self.judge is not None and self.judge.state != "comparing":
                self.panel, self.judge = [], None  # a second deliberation starts afresh
            while len(self.panel) <= event.index:
                self.panel.append(Line(""))
            self.panel[event.index] = Line(event.model)
            return self.panel[event.index]
        if isinstance(event, ev.PanelToolCall | ev.JudgeToolCall):
            line = self.judge if isinstance(event, ev.JudgeToolCall) else self._member(event.index)
            if line is not None:
                _tool_line(line, event.tool, event.arguments)
            return line
        if isinstance(event, ev.PanelDelta):
            line = self._member(event.index)
            if line is not None:
                line.tokens += 1
                changed = line.state != "writing"
                line.state = "writing"
                return line if changed else None
            return None
        if isinstance(event, ev.PanelCompleted):
            line = self._member(event.index)
            if line is not None:
                line.state, line.seconds = "done", event.seconds
            return line
        if isinstance(event, ev.PanelFailed):
            line = self._member(event.index)
            if line is not None:
                code = f" ({event.status_code})" if event.status_code else ""
                line.state, line.detail = "failed", f"{_clip(event.error, 70)}{code}"
                line.seconds = event.seconds
            return line
        if isinstance(event, ev.AnalysisInProgress):
            self.judge = Line(event.model, "comparing", "comparing the answers")
            return self.judge
        if isinstance(event, ev.AnalysisCompleted) and self.judge is not None:
            if event.analysis is not None:
                self.judge.state, self.judge.detail = "done", ""
            else:
                self.judge.state = "failed"
                self.judge.detail = f"no analysis ({event.failure_reason})"
            return self.judge
        if isinstance(event, ev.FusionCompleted):
            if self.judge is None:
                self.judge = Line("judge", "skipped", "(no panel answer to compare)")
            self.answer.state, self.answer.detail = "writing", "writing the answer"
            return self.answer
        return None

    def _member(self, index: int) -> Line | None:
        return self.panel[index] if 0 <= index < len(self.panel) else None


def _icon(line: Line, spinners: dict[int, Spinner]) -> RenderableType:
    if line.state in _ACTIVE:
        return spinners.setdefault(id(line), Spinner("dots", style="cyan"))
    if line.state == "done":
        return Text("✓", style="green")
    if line.state == "failed":
        return Text("✗", style="red")
    if line.state == "streaming":
        return Text("↓", style="cyan")
    if line.state == "stopped":
        return Text("■", style="yellow")
    return Text("·", style="dim")


def _style(line: Line) -> str:
    return {"done": "green", "failed": "red", "skipped": "dim", "pending": "dim"}.get(
        line.state, ""
    )


class LiveView:
    """The panel view on a terminal (rich Live). Call it with each event."""

    def __init__(self, console: Console, outer_model: str = "", *, animate: bool = True) -> None:
        self.console = console
        self.state = ProgressState(outer_model)
        self.animate = animate
        self._spinners: dict[int, Spinner] = {}
        self._live: Live | None = None

    def render(self) -> RenderableType:
        """The current frame: one line per panelist, then the judge and the answer."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column(style="bold")
        grid.add_column()
        done = sum(1 for m in self.state.panel if m.state in ("done", "failed"))
        grid.add_row("", Text(f"Panel ({done}/{len(self.state.panel)})", style="bold"), "")
        for line in self.state.panel:
            grid.add_row(
                _icon(line, self._spinners), line.model, Text(line.describe(), _style(line))
            )
        judge = self.state.judge or Line("", "pending", "waiting for the panel")
        grid.add_row(
            _icon(judge, self._spinners),
            "Judge",
            Text(f"{judge.model} {judge.describe()}".strip(), _style(judge)),
        )
        ans = self.state.answer
        grid.add_row(
            _icon(ans, self._spinners),
            "Answer",
            Text(f"{ans.model} {ans.describe()}".strip(), _style(ans)),
        )
        return grid

    def __call__(self, event: object) -> None:
        if self.state.apply(event) is None:
            return
        if self._live is None:
            self._live = Live(
                self.render(),
                console=self.console,
                auto_refresh=self.animate,
                refresh_per_second=8,
                transient=False,
            )
            self._live.start()
        else:
            self._live.update(self.render(), refresh=True)

    def stop(self, *, interrupted: bool = False) -> None:
        """Leave the last frame on screen (the answer follows below it)."""
        if interrupted:
            self.state.interrupt()
        if self.state.answer.state == "writing":
            self.state.answer.state, self.state.answer.detail = "streaming", "answer below"
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.stop()
            self._live = None


class PlainProgress:
    """One plain line per change, for a stderr that is not a terminal (logs, CI, pipes)."""

    def __init__(self, stream: TextIO, outer_model: str = "") -> None:
        self.stream = stream
        self.state = ProgressState(outer_model)

    def __call__(self, event: object) -> None:
        line = self.state.apply(event)
        if line is None:
            return
        # A token count would go stale at once on a line that cannot be redrawn.
        what = line.describe()
        if line.state == "writing" and line is not self.state.answer:
            what = "writing"
        if line is self.state.answer:
            text = f"answer: {line.model} {what}".strip()
        elif line is self.state.judge:
            text = f"judge {line.model}: {what}"
        else:
            text = f"{line.model}: {what}"
        print(text, file=self.stream, flush=True)

    def stop(self, *, interrupted: bool = False) -> None:
        """Nothing to tidy: plain lines are already written."""
