"""`parley ask`: a panel deliberates, the outer model's answer streams to stdout.

Progress goes to stderr (a live panel view on a terminal, plain lines otherwise), the
exchange goes to the log, and Ctrl-C stops cleanly: upstream calls are cancelled, what
finished is logged, and the exit code is 130.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from parley import offline
from parley.cli._common import cli_errors, load_cli_settings, print_json, store_for
from parley.cli.ask_log import Exchange, conversation_for, save
from parley.cli.ask_output import Output, render_json, responses_build
from parley.cli.panel_flags import panel_flags, preset_models, split_ids
from parley.cli.show import usage_line
from parley.client import Parley
from parley.config import Settings
from parley.engine import Event, Outcome
from parley.store import entry_from_outcome
from parley.tools.events import TextDelta

INTERRUPTED_EXIT = 130  # 128 + SIGINT, what shells report for a Ctrl-C


def _option_value(raw: str) -> Any:
    """`-o` values are JSON when they parse (numbers, booleans, objects), text otherwise."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def fusion_params(
    options: tuple[tuple[str, str], ...],
    *,
    no_tools: bool,
    max_tool_calls: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    """The fusion parameters the flags ask for; FusionParams validates them later."""
    params: dict[str, Any] = {key: _option_value(value) for key, value in options}
    if no_tools:
        params["tools"] = []
    if max_tool_calls is not None:
        params["max_tool_calls"] = max_tool_calls
    if temperature is not None:
        params["temperature"] = temperature
    return params


def settings_for_ask(preset: str | None) -> Settings:
    """The one place `ask` loads its settings (defaults for a keyless setup plug in here)."""
    settings, notice = offline.apply(load_cli_settings(preset=preset))  # no key: local models
    if notice:
        click.echo(notice, err=True)
    return settings


def read_question(question: str | None) -> str:
    """The question argument, else stdin (a pipe); a usage error when there is neither."""
    if question:
        return question
    if sys.stdin.isatty():
        raise click.UsageError("give a question, or pipe one on stdin")
    text = sys.stdin.read().strip()
    if not text:
        raise click.UsageError("the question read from stdin is empty")
    return text


async def _run(
    x: Exchange,
    settings: Settings,
    *,
    panel: list[str] | None,
    judge: str | None,
    params: dict[str, Any],
    on_event: Callable[[Event], None],
) -> Outcome:
    async with Parley(settings=settings) as p:
        return await p.ask(
            x.question,
            model=x.model,
            panel=panel,
            judge=judge,
            system=x.system,
            params=params,
            history=x.conversation.history,
            on_event=on_event,  # the live view counts each panelist's tokens too
        )


@click.command()
@click.argument("question", required=False)
@panel_flags
@click.option("-s", "--system", help="System prompt for the outer model.")
@click.option("--max-tool-calls", type=int, help="Tool-call budget per panelist (1-16).")
@click.option("--temperature", type=float, help="Sampling temperature for the panel (0-2).")
@click.option("--show-panel", is_flag=True, help="Print each panelist's answer and the analysis.")
@click.option("--no-stream", is_flag=True, help="Print the answer once it is complete.")
@click.option("-u", "--usage", "show_usage", is_flag=True, help="Print tokens and cost on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@click.option(
    "--responses",
    "as_responses",
    is_flag=True,
    help="Print the Responses API's response object (as POST /v1/responses answers).",
)
@click.option("-c", "--continue", "cont", is_flag=True, help="Continue the latest conversation.")
@click.option("--cid", help="Continue the conversation with this id (or an exchange's id).")
@click.option("-n", "--no-log", is_flag=True, help="Do not log this exchange.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.pass_context
def ask(
    ctx: click.Context,
    question: str | None,
    model: str | None,
    panel: str | None,
    judge: str | None,
    preset: str | None,
    system: str | None,
    options: tuple[tuple[str, str], ...],
    no_tools: bool,
    max_tool_calls: int | None,
    temperature: float | None,
    show_panel: bool,
    no_stream: bool,
    show_usage: bool,
    as_json: bool,
    as_responses: bool,
    cont: bool,
    cid: str | None,
    no_log: bool,
    quiet: bool,
) -> None:
    """Ask a question; a panel deliberates and the outer model answers.

    The answer streams to stdout; progress goes to stderr. With no QUESTION, it is read
    from stdin. Every exchange is logged (`parley logs`) unless -n is given.

    \b
    Examples:
      parley ask "Is Rust a good first language?"
      parley ask --panel openai/gpt-4.1,google/gemini-2.5-pro --json "SQLite or DuckDB?"
      echo "Explain CRDTs" | parley ask --show-panel -u
      parley ask -c "And for a team of two?"
    """
    with cli_errors():
        settings = settings_for_ask(preset)
        store = store_for(settings, no_log=no_log)
        conv = conversation_for(store, cid, cont)
        x = Exchange(
            read_question(question),
            conv,
            system if system is not None else conv.system,
            model or conv.model,
        )
        if not (cid or cont):
            x.entry_id = conv.id
        panel_ids, judge, preset_outer = preset_models(settings, preset, split_ids(panel), judge)
        x.model = model or preset_outer or x.model
        params = fusion_params(
            options, no_tools=no_tools, max_tool_calls=max_tool_calls, temperature=temperature
        )
        as_json = as_json or as_responses
        out = Output(
            outer=x.model or settings.model or "",
            stream=not (no_stream or as_json),
            show_panel=show_panel and not as_json,
            quiet=quiet,
        )
        build = responses_build(x.question, x.model or settings.model) if as_responses else None

        def on_event(event: Event) -> None:
            if isinstance(event, TextDelta):
                x.text.append(event.text)
            if build is not None:
                build.feed(event)
            x.recorder(event)
            out.event(event)

        try:
            outcome = asyncio.run(
                _run(
                    x,
                    settings,
                    panel=panel_ids,
                    judge=judge,
                    params=params,
                    on_event=on_event,
                )
            )
        except KeyboardInterrupt:
            out.stop_progress(interrupted=True)
            if x.text:
                click.echo()
            if store is not None:
                save(store, x.interrupted_entry())
            click.echo(
                f"Interrupted; what finished is logged as {x.entry_id}."
                if store is not None
                else "Interrupted.",
                err=True,
            )
            ctx.exit(INTERRUPTED_EXIT)
        finally:
            out.stop_progress()
        entry = entry_from_outcome(
            outcome,
            entry_id=x.entry_id,
            conversation_id=conv.id,
            question=x.question,
            system=x.system,
        )
        if build is not None:
            build.shape.model = outcome.model  # the concrete outer model
            build.finish(outcome)
            print_json(build.response)
        elif as_json:
            print_json(render_json(outcome, entry.id if store else None, conv.id))
        else:
            out.finish(entry.answer)
        if show_usage:
            click.echo(usage_line(entry.usage, entry.cost), err=True)
        if store is not None:
            save(store, entry)
