"""What `parley ask` shows: progress on stderr, the answer (and panel) on stdout, or
one JSON object with `--json`."""

from __future__ import annotations

import sys
from typing import Any

import click

from parley.cli._common import err_console, out_console, stderr_is_terminal
from parley.cli.show import print_deliberation
from parley.cli.view import LiveView, PlainProgress
from parley.engine import Event, Outcome
from parley.fusion import events as ev
from parley.store import answer_of, from_result
from parley.tools.events import TextDelta
from parley.wire.responses_events import ResponseBuild
from parley.wire.responses_output import ResponseShape
from parley.wire.responses_request import ResponsesRequest

NO_SEARCH = (
    "parley: the panel answered without web search: no search backend is configured "
    "(SEARXNG_URL, BRAVE_API_KEY, TAVILY_API_KEY, EXA_API_KEY, PARLEY_SEARCH_DIR), no "
    "panelist runs on OpenRouter, and keyless search is not installed "
    "(pip install 'parley-llm[web]')."
)


class Output:
    """Everything `ask` shows: progress on stderr, the answer (and panel) on stdout."""

    def __init__(self, *, outer: str, stream: bool, show_panel: bool, quiet: bool) -> None:
        self.stream = stream
        self.show_panel = show_panel
        self.wrote_text = False
        self.ended_with_newline = True
        self.progress: LiveView | PlainProgress | None = None
        if not quiet:
            if stderr_is_terminal():
                self.progress = LiveView(err_console(), outer)
            else:
                self.progress = PlainProgress(sys.stderr, outer)

    def event(self, event: Event) -> None:
        """Progress for one event, the answer's text as it streams; with `--show-panel`,
        the deliberation once it completes."""
        if isinstance(event, TextDelta):
            if self.stream:
                self.text(event.text)
            return
        if self.progress is not None:
            self.progress(event)
        if isinstance(event, ev.FusionCompleted) and event.result.search == "none":
            click.echo(NO_SEARCH, err=True)
        if self.show_panel and isinstance(event, ev.FusionCompleted):
            self.stop_progress()
            judge = self.progress.state.judge if self.progress is not None else None
            console = out_console()
            print_deliberation(console, from_result(event.result, judge.model if judge else ""))
            console.print()
            console.print("[bold underline]Answer[/]")

    def text(self, piece: str) -> None:
        """A piece of the streamed answer; the first one ends the progress view."""
        if not self.wrote_text:
            self.stop_progress()
            self.wrote_text = True
        sys.stdout.write(piece)
        sys.stdout.flush()
        self.ended_with_newline = piece.endswith("\n")

    def finish(self, answer: str) -> None:
        """The whole answer when nothing streamed; a final newline when the stream lacked one."""
        self.stop_progress()
        if not self.wrote_text:
            click.echo(answer)
        elif not self.ended_with_newline:
            click.echo()

    def stop_progress(self, *, interrupted: bool = False) -> None:
        """End the progress view, marking it interrupted on Ctrl-C."""
        if self.progress is not None:
            self.progress.stop(interrupted=interrupted)


def render_json(outcome: Outcome, entry_id: str | None, conversation_id: str) -> dict[str, Any]:
    """`--json`: the answer, the fusion result (the first, as the wire shows it), the usage."""
    fusion = [d.result.to_wire() for d in outcome.deliberations if d.result is not None]
    return {
        "id": entry_id,
        "conversation_id": conversation_id,
        "answer": answer_of(outcome),
        "model": outcome.model,
        "fusion": fusion[0] if fusion else None,
        "usage": outcome.usage.to_wire(),
        "seconds": round(outcome.seconds, 3),
    }


def responses_build(question: str, model: str | None) -> ResponseBuild:
    """`--responses`: the run's events built into a Responses API response object."""
    echo = ResponsesRequest.model_validate({"input": question, "model": model})
    return ResponseBuild(ResponseShape(model or "", echo))
