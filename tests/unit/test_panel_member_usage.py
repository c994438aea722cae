"""Each panelist's own spend is known (the web page shows it per column), and the
deliberation's usage is still the sum of everything: the members' and the judge's."""

from __future__ import annotations

import json

from parley import FunctionModel, Parley
from parley.config import load_settings
from parley.fusion import events as ev
from parley.testing import ANALYSIS


async def test_each_member_reports_its_own_usage_and_the_total_holds_them_all() -> None:
    models = {
        "vendor/a": FunctionModel(lambda req: "one two three", cost_per_call=0.001),
        "vendor/b": FunctionModel(lambda req: "one", cost_per_call=0.002),
        "vendor/judge": FunctionModel(lambda req: json.dumps(ANALYSIS), cost_per_call=0.004),
    }
    settings = load_settings(overrides={"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge"})
    heard: list[ev.PanelCompleted] = []
    async with Parley(settings=settings, models=models) as p:
        d = p.deliberation("Why is the sky blue?")
        await d.run(lambda e: heard.append(e) if isinstance(e, ev.PanelCompleted) else None)

    by_model = {e.model: e.usage for e in heard}
    a, b = by_model["vendor/a"], by_model["vendor/b"]
    assert a is not None and b is not None
    assert (a.cost, b.cost) == (0.001, 0.002)
    assert a.completion_tokens == 3 and b.completion_tokens == 1
    assert d.member_usage[0] is a and d.member_usage[1] is b
    assert d.usage.cost is not None and round(d.usage.cost, 6) == 0.007
    assert d.usage.calls == a.calls + b.calls + 1
