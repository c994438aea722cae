"""The systems compared, by the names `--systems` gives them, and one call of each.

`fusion` asks the outer model with fusion forced, exactly as `parley ask` does; `solo:M`
asks M alone; `self-consistency:M` samples M k times and takes the majority; `self-moa:M`
is fusion whose panel is M k times. `vote` asks nothing: it is the majority of the panel
answers inside each fusion record, counted at report time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from parley.client import Parley
from parley.engine import Outcome
from parley.eval.scorers import extract
from parley.eval.tasks import Item
from parley.usage import Usage

KINDS = ("fusion", "solo", "vote", "self-consistency", "self-moa")


@dataclass(frozen=True)
class Setup:
    """The models every system draws on, resolved once as `parley ask` resolves them."""

    outer: str
    panel: list[str]
    judge: str | None
    params: dict[str, Any]

    def fusion_calls(self) -> int:
        """Upstream calls of one deliberation: each panelist, the judge, the outer model's
        two turns (the fusion call, then the answer); self-consistency's k matches it."""
        return len(self.panel) + 3


@dataclass(frozen=True)
class System:
    name: str  # exactly as `--systems` named it: the report's key
    kind: str
    model: str | None = None

    def models(self, setup: Setup) -> list[str]:
        """The model ids one item of this system calls (for the per-model limit)."""
        if self.kind == "fusion":
            return sorted({setup.outer, *setup.panel, setup.judge or setup.outer})
        return [self.model] if self.model else []

    def calls(self, setup: Setup) -> int:
        if self.kind == "fusion":
            return setup.fusion_calls()
        if self.kind == "solo":
            return 1
        if self.kind == "vote":
            return 0
        return setup.fusion_calls()  # self-consistency, self-moa: as many as fusion


def parse_systems(spec: str | list[str], setup: Setup) -> list[System]:
    """`fusion,solo:M,vote,...`; `solo` alone (or `solo:*`) means every panel member."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    systems: list[System] = []
    for name in filter(None, names):
        kind, _, model = name.partition(":")
        if kind not in KINDS:
            raise ValueError(f"unknown system {name!r}; systems: {', '.join(KINDS)}")
        if kind in ("fusion", "vote"):
            if model:
                raise ValueError(f"{kind} takes no model ({name!r})")
            systems.append(System(name, kind))
        elif kind == "solo" and model in ("", "*"):
            systems.extend(System(f"solo:{m}", "solo", m) for m in dict.fromkeys(setup.panel))
        elif not model:
            raise ValueError(f"{kind} needs a model: {kind}:MODEL")
        else:
            systems.append(System(name, kind, model))
    seen = [s.name for s in systems]
    return [s for i, s in enumerate(systems) if s.name not in seen[:i]]


def default_systems(setup: Setup) -> list[System]:
    return parse_systems("fusion,solo,vote", setup)


def majority(answers: list[str], scorer: str) -> tuple[str | None, list[str | None]]:
    """The most common extracted answer (ties: the first seen) and every extraction."""
    extracted = [extract(scorer, a) for a in answers]
    counts = Counter(e for e in extracted if e is not None)
    if not counts:
        return None, extracted
    top = max(counts.values())
    return next(e for e in extracted if e is not None and counts[e] == top), extracted


def _stages(outcome: Outcome) -> dict[str, float]:
    """Seconds by stage: panel (the slowest member), judge (the rest of the deliberation),
    outer (everything else the request took)."""
    stages: dict[str, float] = {"total": outcome.seconds}
    if outcome.deliberations:
        d = outcome.deliberations[0]
        panel = max((v for k, v in d.timings.items() if k.startswith("panel:")), default=0.0)
        total = d.timings.get("total", panel)
        stages |= {"panel": panel, "judge": max(0.0, total - panel)}
        stages["outer"] = max(0.0, outcome.seconds - total)
    else:
        stages["outer"] = outcome.seconds
    return stages


def _fusion_of(outcome: Outcome) -> dict[str, Any] | None:
    if not outcome.deliberations or outcome.deliberations[0].result is None:
        return None
    return outcome.deliberations[0].result.model_dump(mode="json", exclude_none=True)


def _deliberated(outcome: Outcome) -> dict[str, Any]:
    """A fusion record's fields; a deliberation that failed (or never ran) marks the item
    failed, answer kept, since the system measured did not happen: never a wrong answer."""
    fusion = _fusion_of(outcome)
    record = _record(outcome.text, outcome.usage, _stages(outcome), fusion=fusion)
    if fusion is None or fusion.get("status") != "ok":
        reason = (fusion or {}).get("failure_reason") or "no deliberation ran"
        record |= {"status": "failed", "error": f"fusion failed: {reason}"}
    return record


def _messages(item: Item) -> list[dict[str, Any]]:
    prompt = item.prompt()
    return prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]


async def _ask_fusion(
    p: Parley, item: Item, outer: str, panel: list[str], judge: str | None, params: dict[str, Any]
) -> Outcome:
    fusion: dict[str, Any] = {**params, "analysis_models": panel}
    if judge:
        fusion["model"] = judge
    request = {
        "model": outer,
        "messages": _messages(item),
        "tools": [{"type": "openrouter:fusion", "parameters": fusion}],
        "tool_choice": "required",  # as `parley ask`: the deliberation always runs
    }
    return await p.chat(request)


async def _solo(p: Parley, item: Item, model: str, temperature: float | None) -> Outcome:
    request: dict[str, Any] = {"model": model, "messages": _messages(item)}
    if temperature is not None:
        request["temperature"] = temperature
    return await p.chat(request)


def _record(
    answer: str | None, usage: Usage, stages: dict[str, float], **more: Any
) -> dict[str, Any]:
    return {
        "answer": answer or "",
        "usage": usage.to_wire(),
        "cost": usage.cost,
        "calls": usage.calls,
        "timings": stages,
        **more,
    }


async def call(p: Parley, system: System, item: Item, setup: Setup) -> dict[str, Any]:
    """One item through one system: the record's answer, usage, cost, timings (and, for
    fusion, the fusion result). Errors propagate; the runner records them as failures."""
    if system.kind == "fusion":
        out = await _ask_fusion(p, item, setup.outer, setup.panel, setup.judge, setup.params)
        return _deliberated(out)
    assert system.model is not None  # parse_systems gives every other kind a model
    if system.kind == "solo":
        out = await _solo(p, item, system.model, None)
        return _record(out.text, out.usage, _stages(out))
    if system.kind == "self-moa":
        out = await _ask_fusion(
            p, item, system.model, [system.model] * len(setup.panel), system.model, setup.params
        )
        return _deliberated(out)
    # self-consistency: k samples at a sampling temperature, so they can differ.
    started, k = time.perf_counter(), setup.fusion_calls()
    outs = await asyncio.gather(*(_solo(p, item, system.model, 0.7) for _ in range(k)))
    usage = Usage()
    for o in outs:
        usage.merge(o.usage)
    samples = [o.text or "" for o in outs]
    winner, extracted = majority(samples, item.scorer)
    answer = samples[extracted.index(winner)] if winner is not None else samples[0]
    stages = {"total": time.perf_counter() - started, "outer": time.perf_counter() - started}
    return _record(answer, usage, stages, samples=samples)
