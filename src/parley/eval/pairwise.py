"""Pairwise comparison: a grader model reads two systems' answers to the same item and
says which is better, asked twice with the order swapped (graders favour a position); a
win counts only when both orders pick the same system, anything else is a tie.

The win rate is over the items one system won (ties left out), with its Wilson interval
and the exact two-sided sign test (the McNemar p of wins against losses).
"""

from __future__ import annotations

import asyncio
from typing import Any

from parley.eval.grades import Grader
from parley.eval.records import Loaded
from parley.eval.stats import mcnemar_p, wilson
from parley.eval.verdicts import Grade, agreed, pairwise_messages, parse_preference


class PairwiseError(ValueError):
    """A system with no answered records to compare; the message lists those recorded."""


def _answered(loaded: Loaded, system: str) -> dict[str, dict[str, Any]]:
    return {
        item: r
        for (item, s), r in loaded.latest().items()
        if s == system and r.get("status") == "ok"
    }


def _side(grade: Grade | None) -> dict[str, Any]:
    return {"verdict": grade.verdict, "reply": grade.reply} if grade else {"verdict": None}


async def compare(loaded: Loaded, a: str, b: str, grader: Grader) -> dict[str, Any]:
    """Wins, losses and ties of `a` against `b` on the items both answered."""
    if a == b:
        raise PairwiseError(f"--a and --b are the same system ({a!r}); name two")
    mine, theirs = _answered(loaded, a), _answered(loaded, b)
    recorded = sorted({r["system"] for r in loaded.records})
    for name, answered in ((a, mine), (b, theirs)):
        if not answered:
            raise PairwiseError(
                f"no answered records of system {name!r}; recorded: {', '.join(recorded) or '-'}"
            )
    both = sorted(set(mine) & set(theirs))

    async def one(item: str) -> tuple[Grade | None, Grade | None]:
        gold = mine[item]["gold"]
        x, y = mine[item].get("answer") or "", theirs[item].get("answer") or ""
        return await asyncio.gather(
            grader.ask(
                "pairwise", item, f"{a} vs {b}", pairwise_messages(gold, x, y), parse_preference
            ),
            grader.ask(
                "pairwise", item, f"{b} vs {a}", pairwise_messages(gold, y, x), parse_preference
            ),
        )

    judged = await asyncio.gather(*(one(item) for item in both))
    rows = []
    for item, (a_first, b_first) in zip(both, judged, strict=True):
        outcome = agreed(a_first.verdict if a_first else None, b_first.verdict if b_first else None)
        rows.append(
            {"id": item, "outcome": outcome, "a_first": _side(a_first), "b_first": _side(b_first)}
        )
    return summarise(a, b, grader.model, rows, grader.problems)


def summarise(
    a: str, b: str, model: str, rows: list[dict[str, Any]], problems: list[str]
) -> dict[str, Any]:
    """The counts, the win rate with its interval and the sign test, from each item's
    outcome ("a", "b", "tie", or None when a verdict is missing)."""
    wins = sum(r["outcome"] == "a" for r in rows)
    losses = sum(r["outcome"] == "b" for r in rows)
    ties = sum(r["outcome"] == "tie" for r in rows)
    decided = wins + losses
    low, high = wilson(wins, decided)
    return {
        "a": a,
        "b": b,
        "grader": model,
        "n": wins + losses + ties,
        "wins": wins,
        "losses": losses,
        "ties": ties,
        "ungraded": sum(r["outcome"] is None for r in rows),
        "win_rate": wins / decided if decided else None,
        "interval": [low, high],
        "p_value": mcnemar_p(wins, losses),
        "items": rows,
        "problems": list(problems),
    }
