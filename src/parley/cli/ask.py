"""`parley ask`: run the outer model with fusion forced once and print the final answer."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from parley.chat import ChatOutcome
from parley.client import Parley
from parley.errors import InvalidParameter, ParleyError


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [m.strip() for m in value.split(",") if m.strip()]


@click.command()
@click.argument("question", required=False)
@click.option("-m", "--model", help="Outer model that writes the final answer.")
@click.option("--panel", help="Comma-separated panel model ids (1-8).")
@click.option("--judge", help="Judge (analyst) model id.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object: answer, fusion result, usage."
)
def ask(
    question: str | None,
    model: str | None,
    panel: str | None,
    judge: str | None,
    as_json: bool,
) -> None:
    """Ask a question; a panel deliberates and the outer model answers.

    \b
    Examples:
      parley ask "Is Rust a good first language?"
      parley ask --panel openai/gpt-4.1,google/gemini-2.5-pro --json "Compare SQLite and DuckDB"
    """
    if not question:
        if sys.stdin.isatty():
            raise click.UsageError("give a question, or pipe one on stdin")
        question = sys.stdin.read().strip()
        if not question:
            raise click.UsageError("the question read from stdin is empty")
    try:
        outcome = asyncio.run(_ask(question, model, _split(panel), judge))
    except InvalidParameter as exc:
        raise click.BadParameter(str(exc)) from None
    except ParleyError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(render_json(outcome), ensure_ascii=False, indent=2))
    else:
        click.echo(answer_text(outcome))


async def _ask(
    question: str, model: str | None, panel: list[str] | None, judge: str | None
) -> ChatOutcome:
    async with Parley() as p:
        return await p.ask(question, model=model, panel=panel, judge=judge)


def answer_text(outcome: ChatOutcome) -> str:
    content = outcome.response["choices"][0]["message"].get("content")
    return str(content or "")


def render_json(outcome: ChatOutcome) -> dict[str, Any]:
    fusion = [d.result.to_wire() for d in outcome.deliberations if d.result is not None]
    return {
        "answer": answer_text(outcome),
        "model": outcome.response["model"],
        "fusion": fusion[0] if fusion else None,
        "usage": outcome.response["usage"],
    }
