"""`parley eval pairwise DIR --a X --b Y`: two systems' recorded answers compared by a
grader model, each item asked in both orders; a win counts only when both orders agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from parley import eval as parley_eval
from parley.cli._common import cli_errors, out_console, print_json
from parley.cli.ask import settings_for_ask


def _render(result: dict[str, Any]) -> None:
    console = out_console()
    a, b = result["a"], result["b"]
    low, high = result["interval"]
    rate = result["win_rate"]
    console.print(f"{a} against {b}, graded by {result['grader']} in both orders:", markup=False)
    console.print(
        f"  wins {result['wins']}, losses {result['losses']}, ties {result['ties']}"
        + (f", ungraded {result['ungraded']}" if result["ungraded"] else ""),
        markup=False,
    )
    if rate is None:
        console.print("  win rate: - (no item was won by either)", markup=False)
    else:
        console.print(
            f"  win rate {100 * rate:.0f}% (95% CI {100 * low:.0f}-{100 * high:.0f}, ties "
            f"left out); sign test p = {result['p_value']:.2g}",
            markup=False,
        )
    for problem in result["problems"]:
        console.print(f"warning: {problem}", markup=False)


@click.command("pairwise")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--a", "a", required=True, metavar="SYSTEM", help="A system, e.g. fusion.")
@click.option("--b", "b", required=True, metavar="SYSTEM", help="The other, e.g. solo:MODEL.")
@click.option("--grader", metavar="MODEL", help="The model that compares; default the judge.")
@click.option("--regrade", is_flag=True, help="Ask the grader again, not its kept replies.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def pairwise_cmd(
    out: Path, a: str, b: str, grader: str | None, regrade: bool, as_json: bool
) -> None:
    """Compare two systems' answers in OUT with a grader model.

    Each item both answered is shown to the grader twice, the order swapped; a system wins
    it only when both orders pick it, else it is a tie. Replies are kept in OUT/grades.jsonl,
    so running again asks nothing new.

    \b
    Examples:
      parley eval pairwise eval-out --a fusion --b solo:openai/gpt-4.1
      parley eval pairwise eval-out --a fusion --b solo:openai/gpt-4.1 --grader openai/o3 --json
    """
    grader = grader or parley_eval.default_grader(out)
    if not grader:
        raise click.UsageError(f"no grader: {out} records no judge; pass --grader MODEL")
    with cli_errors():
        try:
            result = parley_eval.pairwise(
                out, a, b, grader=grader, regrade=regrade, settings=lambda: settings_for_ask(None)
            )
        except parley_eval.PairwiseError as exc:
            raise click.UsageError(str(exc)) from None
    if as_json:
        print_json(result)
    else:
        _render(result)
