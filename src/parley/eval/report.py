"""The report, built from the records alone (so `parley eval report DIR` re-scores without
asking any model): per system accuracy with its Wilson interval, cost, latency by stage,
and against fusion the paired difference, the exact McNemar p-value, items fixed and broke.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.eval.records import Loaded
from parley.eval.scorers import CLOSED_FORM, UNSCORED, Score, safe_score
from parley.eval.stats import mcnemar_p, paired_difference, percentile, wilson
from parley.eval.systems import majority
from parley.eval.verdicts import Grade

STAGES = ("total", "panel", "judge", "outer")


def _vote(record: dict[str, Any]) -> dict[str, Any] | None:
    """A vote record derived from a fusion record: the majority of the panel's answers."""
    gold = record["gold"]
    fusion = record.get("fusion") or {}
    answers = [r.get("content", "") for r in fusion.get("responses") or []]
    if record.get("status") != "ok" or gold["scorer"] not in CLOSED_FORM or not answers:
        return None
    winner, extracted = majority(answers, gold["scorer"])
    answer = answers[extracted.index(winner)] if winner is not None else ""
    return {**record, "system": "vote", "answer": answer, "cost": 0.0, "timings": {}}


def _score(record: dict[str, Any], grade: Grade | None) -> Score:
    answer = record.get("answer") or ""
    if grade is None:
        return safe_score(record["gold"], answer)
    return Score(bool(grade.verdict), answer, "pass" if grade.verdict else "fail")


def _members_right(record: dict[str, Any]) -> bool | None:
    responses = (record.get("fusion") or {}).get("responses") or []
    if record.get("status") != "ok" or not responses or record["gold"]["scorer"] in UNSCORED:
        return None
    return any(safe_score(record["gold"], r.get("content", "")).correct for r in responses)


def _latency(records: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        values = [float(r["timings"][stage]) for r in records if stage in (r.get("timings") or {})]
        if values:
            out[stage] = {
                "mean": sum(values) / len(values),
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
            }
    return out


def _item(item: str, score: Score, grade: Grade | None) -> dict[str, Any]:
    row = {"id": item, "correct": score.correct, "extracted": score.extracted, "raw": score.raw}
    return row | ({"grader": grade.grader, "grader_reply": grade.reply} if grade else {})


def build_report(
    loaded: Loaded, systems: list[str], grades: Mapping[tuple[str, str], Grade] | None = None
) -> dict[str, Any]:
    """The whole report as JSON-ready data, systems in the order given; rubric items count
    where `grades` has their verdict (pass/fail as the extraction), else stay unscored."""
    grades = grades or {}
    latest = loaded.latest()
    for (item, system), r in list(latest.items()):
        if system == "fusion" and "vote" in systems and (vote := _vote(r)) is not None:
            latest[(item, "vote")] = vote
    scored: dict[str, dict[str, bool]] = {s: {} for s in systems}
    rows: dict[str, Any] = {}
    for name in systems:
        records = [r for (_, s), r in latest.items() if s == name]
        answered = [r for r in records if r.get("status") == "ok"]
        # Rubric items without a grade are left out of n, not counted wrong.
        ok = [
            r
            for r in answered
            if r["gold"]["scorer"] not in UNSCORED or (r["item"], name) in grades
        ]
        scores = {r["item"]: _score(r, grades.get((r["item"], name))) for r in ok}
        scored[name] = {i: s.correct for i, s in scores.items()}
        correct = sum(scored[name].values())
        n = len(ok)
        costs = [r["cost"] for r in ok if isinstance(r.get("cost"), (int, float))]
        tokens = sum((r.get("usage") or {}).get("total_tokens", 0) for r in ok)
        low, high = wilson(correct, n)
        rows[name] = {
            "accuracy": correct / n if n else None,
            "n": n,
            "correct": correct,
            "failed": len(records) - len(answered),
            "unscored": len(answered) - n,
            "interval": [low, high],
            "cost": sum(costs) if costs else None,
            "tokens": tokens,
            "latency": _latency(ok),
            "items": [_item(i, s, grades.get((i, name))) for i, s in sorted(scores.items())],
        }
    if "fusion" in systems:
        _against_fusion(rows, scored, systems)
        rows["fusion"]["ceiling"] = _ceiling(latest, scored["fusion"])
    return {"systems": rows, "order": systems, "problems": list(loaded.problems)}


def _against_fusion(
    rows: dict[str, Any], scored: dict[str, dict[str, bool]], systems: list[str]
) -> None:
    """Paired comparison on the items both systems answered."""
    fusion = scored["fusion"]
    for name in systems:
        if name == "fusion":
            continue
        both = sorted(set(fusion) & set(scored[name]))
        f = [fusion[i] for i in both]
        o = [scored[name][i] for i in both]
        fixed = sum(a and not b for a, b in zip(f, o, strict=True))
        broke = sum(b and not a for a, b in zip(f, o, strict=True))
        diff, low, high = paired_difference(f, o)
        rows[name]["vs_fusion"] = {
            "paired_n": len(both),
            "fusion_minus_this": diff,
            "interval": [low, high],
            "fixed": fixed,
            "broke": broke,
            "p_value": mcnemar_p(fixed, broke),
        }


def _ceiling(latest: dict[tuple[str, str], dict[str, Any]], fusion: dict[str, bool]) -> Any:
    """How often any panel member was right, and how much of that fusion captured."""
    rights = {i: _members_right(r) for (i, s), r in latest.items() if s == "fusion"}
    any_right = [i for i, v in rights.items() if v]
    return {
        "any_member_right": len(any_right),
        "n": sum(v is not None for v in rights.values()),
        "fusion_captured": sum(fusion.get(i, False) for i in any_right),
    }
