"""The web_search tool: its parameters are checked and named, its results are filtered by
domain, capped and become sources, and a failing backend is a failed result the model reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from parley.config import load_settings
from parley.errors import InvalidParameter
from parley.runtime import Setup, build
from parley.testing import FakeSearch
from parley.tools.base import ServerToolSpec
from parley.tools.web import SearchHit, WebSearchTool
from parley.tools.web.search import TavilySearch
from web_kit import serve_route


@pytest.mark.parametrize("bad", [0, 26, "5", True])
def test_max_results_out_of_range_names_the_field(bad: Any) -> None:
    settings = load_settings({"PARLEY_CONFIG": "/nonexistent/parley.toml"})
    runtime = build(Setup(settings=settings, search=FakeSearch()))
    spec = ServerToolSpec(type="openrouter:web_search", parameters={"max_results": bad})
    with pytest.raises(InvalidParameter) as err:
        runtime.server_tools([spec])
    assert err.value.field == "tools[0].parameters.max_results"
    assert "1 to 25" in str(err.value)


def test_domain_lists_must_be_lists_of_names() -> None:
    with pytest.raises(InvalidParameter, match="allowed_domains"):
        WebSearchTool(FakeSearch(), {"allowed_domains": "example.com"})


async def test_search_tool_results_domains_and_sources() -> None:
    hits = [
        SearchHit(f"https://{h}/p{i}", f"T{i}", "s")
        for i, h in enumerate(
            ["a.example.com", "b.org", "example.com", "spam.example.com", "c.net"] * 3
        )
    ]
    tool = WebSearchTool(
        FakeSearch(hits),
        {
            "max_results": 2,
            "allowed_domains": ["example.com"],
            "excluded_domains": ["spam.example.com"],
        },
    )
    out = await tool.run({"query": "q"})
    data = json.loads(out.content)
    assert data["results"] == [
        {"url": "https://a.example.com/p0", "title": "T0", "snippet": "s"},
        {"url": "https://example.com/p2", "title": "T2", "snippet": "s"},
    ]
    assert [s.url for s in out.sources] == ["https://a.example.com/p0", "https://example.com/p2"]
    assert out.web_search


async def test_search_tool_default_max_results_is_five_and_max_uses_holds() -> None:
    hits = [SearchHit(f"https://e{i}.org/", f"T{i}") for i in range(30)]
    tool = WebSearchTool(FakeSearch(hits), {"max_uses": 1})
    first = json.loads((await tool.run({"query": "q"})).content)
    assert len(first["results"]) == 5
    second = await tool.run({"query": "q"})
    assert not second.ok and "max_uses (1)" in second.content


async def test_a_failing_backend_is_a_failed_result_not_an_exception() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    async with serve_route("POST", "/search", handler) as base:
        out = await WebSearchTool(TavilySearch("sk-test", base_url=base)).run({"query": "q"})
    data = json.loads(out.content)
    assert data["status"] == "failed" and "Tavily answered HTTP 500" in data["error"]
