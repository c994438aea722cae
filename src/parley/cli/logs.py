"""`parley logs`: list, search and show logged deliberations."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from parley.cli._common import cli_errors, load_cli_settings, log_store, out_console, print_json
from parley.cli.show import print_entry
from parley.store import Entry


def _summary(e: Entry) -> dict[str, object]:
    panel = sorted({m for d in e.deliberations for m in d.panel})
    return {
        "id": e.id,
        "conversation_id": e.conversation_id,
        "created_at": e.created_at,
        "model": e.model,
        "source": e.source,  # cli, gateway or mcp
        "panel": panel,
        "status": e.status,
        "question": e.question,
        "answer": e.answer,
        "cost": e.cost,
        "total_tokens": e.usage.get("total_tokens", 0),
    }


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group(invoke_without_command=True)
@click.option("-n", "--count", default=20, show_default=True, help="How many (0 for all).")
@click.option("-q", "--query", help="Only entries whose question or answers contain this.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def logs(ctx: click.Context, count: int, query: str | None, as_json: bool) -> None:
    """List logged deliberations, newest first.

    \b
    Examples:
      parley logs -n 5
      parley logs -q kubernetes --json
      parley logs show 0193a4f2
    """
    if ctx.invoked_subcommand is not None:
        return
    with cli_errors():
        entries = log_store().recent(count, query)
    if as_json:
        print_json([_summary(e) for e in entries])
        return
    console = out_console()
    if not entries:
        console.print("No logged deliberations yet." if not query else "Nothing matches.")
        return
    if not console.is_terminal:  # one line per entry, whole ids, for grep and cut
        for e in entries:
            when = e.created_at.replace("T", " ")[:16]
            click.echo(
                f"{e.id}  {when}  {e.model}  {e.status}  {e.source}  {_clip(e.question, 80)}"
            )
        return
    table = Table(box=None, pad_edge=False)
    for name in ("id", "when", "model", "panel", "status", "via"):
        table.add_column(name, no_wrap=True)
    table.add_column("question", overflow="ellipsis", no_wrap=True)
    for e in entries:
        panel = {m for d in e.deliberations for m in d.panel}
        table.add_row(
            e.id,
            e.created_at.replace("T", " ")[:16],
            escape(e.model),
            str(len(panel)),
            e.status,
            e.source,
            escape(_clip(e.question, 60)),
        )
    console.print(table)


@logs.command()
@click.argument("entry_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the whole entry as JSON.")
def show(entry_id: str | None, as_json: bool) -> None:
    """Show one logged exchange whole: question, panel answers, failures, analysis,
    sources, final answer, usage, cost and timings. Any unique prefix of the id works;
    with no id, the latest.

    \b
    Examples:
      parley logs show
      parley logs show 0193a4f2
    """
    with cli_errors():
        store = log_store()
        if entry_id:
            entry = store.get(entry_id)
        else:
            latest = store.recent(1)
            if not latest:
                raise click.ClickException("the log is empty; `parley ask` fills it")
            entry = latest[0]
    if as_json:
        print_json(entry.to_dict())
    else:
        print_entry(out_console(), entry)


@logs.command()
def path() -> None:
    """Print where the log database is (PARLEY_LOG_DB overrides it).

    \b
    Example:
      parley logs path
    """
    click.echo(str(load_cli_settings().log_path()))
