"""Pages found and fetched by panel and judge reach FusionResult.sources, once per URL."""

from __future__ import annotations

import json

from parley.client import deliberate
from parley.config import load_settings
from parley.models.base import Turn
from parley.runtime import Setup, build
from parley.testing import ANALYSIS_JSON, FakeRequest, FakeSearch, FunctionModel, tool_call
from parley.tools.web import SearchHit
from parley.tools.web.fetcher import WebFetcher
from web_kit import LOOPBACK, serve_site


def researcher(answer: str) -> FunctionModel:
    """Searches, fetches the first result, then answers from what it read."""

    def reply(req: FakeRequest) -> Turn | str:
        if not req.tool_results:
            return tool_call("web_search", {"query": "npm ping"})
        if len(req.tool_results) == 1:
            first = json.loads(req.tool_results[0])["results"][0]["url"]
            return tool_call("web_fetch", {"url": first})
        page = json.loads(req.tool_results[-1])
        assert page["status"] == "completed", page
        return f"{answer} ({page['title']})"

    return FunctionModel(reply)


def fetching_judge(url: str) -> FunctionModel:
    def reply(req: FakeRequest) -> Turn | str:
        if "web_fetch" in req.tools and not req.tool_results:
            return tool_call("web_fetch", {"url": url})
        return ANALYSIS_JSON

    return FunctionModel(reply, name="judge")


async def test_sources_from_search_and_fetch_are_deduplicated_by_url() -> None:
    async with serve_site() as site:
        ping = site.url("site/npm-ping.html")
        rustdoc = site.url("site/what-is-rustdoc.html")
        search = FakeSearch(
            [SearchHit(ping, "npm ping (search title)", "..."), SearchHit(rustdoc, "rustdoc")]
        )
        models = {
            "vendor/a": researcher("A"),
            "vendor/b": researcher("B"),
            "vendor/judge": fetching_judge(rustdoc),
        }
        settings = load_settings(
            overrides={"panel": ["vendor/a", "vendor/b"], "judge": "vendor/judge"}
        )
        fetcher = WebFetcher(policy=LOOPBACK)
        runtime = build(Setup(settings=settings, models=models, search=search, fetcher=fetcher))
        d = await deliberate("What does npm ping do?", runtime=runtime)
    result = d.result
    assert result is not None and result.status == "ok"
    assert sorted(r.content for r in result.responses) == ["A (npm-ping)", "B (npm-ping)"]
    urls = [s.url for s in result.sources]
    assert sorted(urls) == sorted([ping, rustdoc])  # two panelists x (search + fetch) + judge
    assert len(urls) == len(set(urls))
    # Both panelists and the judge really went to the site: 2 fetches of ping, 1 of rustdoc.
    assert sorted(r["path"] for r in site.requests) == [
        "/site/npm-ping.html",
        "/site/npm-ping.html",
        "/site/what-is-rustdoc.html",
    ]
