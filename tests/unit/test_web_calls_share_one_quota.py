"""A request's web tool calls are capped in all, across its outer loop, panel and judge."""

from __future__ import annotations

import dataclasses
import json

import pytest

from parley import (
    Deliberation,
    FakeFetcher,
    FakeRequest,
    FunctionModel,
    FusionParams,
    Parley,
    tool_call,
)
from parley.config import load_settings
from parley.testing import ANALYSIS_JSON
from parley.tools.web import WebQuota

PAGE = "https://example.org/page"


def fetching_panelist() -> FunctionModel:
    def reply(req: FakeRequest) -> object:
        if req.step == 0:
            return tool_call("web_fetch", {"url": PAGE})
        return "answer: " + json.loads(req.tool_results[-1])["status"]

    return FunctionModel(reply)


async def test_web_fetches_share_one_quota_across_the_panel() -> None:
    models = {f"vendor/p{i}": fetching_panelist() for i in range(3)}
    models["vendor/judge"] = FunctionModel(lambda req: ANALYSIS_JSON, name="judge")
    settings = load_settings(overrides={"judge": "vendor/judge"})
    fetcher = FakeFetcher({PAGE: ("Page", "text")})
    async with Parley(settings=settings, models=models, fetcher=fetcher) as p:
        # A request whose quota has two fetches left: the three panelists share them.
        runtime = dataclasses.replace(p.runtime, quota=WebQuota(fetches=2))
        params = FusionParams.parse(
            {"analysis_models": list(models)[:3], "tools": [{"type": "openrouter:web_fetch"}]}
        )
        result = await Deliberation(runtime, "q", params).run()
    answers = sorted(r.content for r in result.responses)
    assert answers == ["answer: completed", "answer: completed", "answer: failed"]
    assert len(fetcher.urls) == 2


async def test_each_request_gets_a_fresh_quota() -> None:
    async with Parley(settings=load_settings()) as p:
        first, second = p.runtime.for_request(), p.runtime.for_request()
    assert first.quota is not None and second.quota is not None
    assert first.quota is not second.quota
    assert first.for_request() is first


def test_take_spends_one_call_and_then_says_the_cap_is_spent() -> None:
    quota = WebQuota(fetches=1, searches=0)
    assert quota.take("web_fetch") is None and quota.fetches == 0
    assert "cap of 60 fetches is spent" in (quota.take("web_fetch") or "")
    assert "cap of 120 searches is spent" in (quota.take("web_search") or "")
    with pytest.raises(ValueError, match="no web quota for 'datetime'"):
        quota.take("datetime")
