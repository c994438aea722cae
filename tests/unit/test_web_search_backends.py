"""Each web_search backend against a loopback stand-in speaking the service's wire format;
which backend the settings choose; and the local folder's pages, fetchable and fenced in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from parley import _constants as C
from parley.config import load_settings
from parley.errors import ConfigError
from parley.http import new_session
from parley.runtime import Setup, build
from parley.testing import FakeSearch
from parley.tools.web import SearchHit, WebSearchTool
from parley.tools.web.fetcher import WebFetcher, default_fetcher
from parley.tools.web.search import (
    BraveSearch,
    DdgsSearch,
    ExaSearch,
    LocalSearch,
    SearchError,
    SearxngSearch,
    TavilySearch,
    default_search,
)
from web_kit import SITE, serve_route

KEY = "sk-test-secret-0123456789"


@dataclass
class Service:
    """A stand-in search service: its base URL and what it was asked."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def service(method: str, path: str, answer: dict[str, Any]) -> AsyncIterator[Service]:
    """A loopback stand-in that answers `answer` at `path` and records each request's query,
    headers and JSON body."""
    stand = Service()

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        stand.seen.append(
            {"query": dict(request.query), "headers": dict(request.headers), "body": body}
        )
        return web.json_response(answer)

    async with serve_route(method, path, handler) as url:
        stand.url = url
        yield stand


# --- SearXNG: GET /search?q=...&format=json -> {"results": [{url, title, content, ...}]}


SEARXNG_ANSWER: dict[str, Any] = {
    "query": "python asyncio",
    "number_of_results": 2,
    "results": [
        {
            "url": "https://docs.python.org/3/library/asyncio.html",
            "title": "asyncio — Asynchronous I/O",
            "content": "asyncio is a library to write concurrent code.",
            "engine": "duckduckgo",
            "parsed_url": ["https", "docs.python.org", "/3/library/asyncio.html"],
            "template": "default.html",
            "engines": ["duckduckgo", "brave"],
            "positions": [1, 2],
            "score": 4.0,
            "category": "general",
        },
        {"url": "https://realpython.com/async-io-python/", "title": "Async IO"},
    ],
    "answers": [],
    "corrections": [],
    "infoboxes": [],
    "suggestions": [],
    "unresponsive_engines": [],
}


async def test_searxng_json_api() -> None:
    async with service("GET", "/search", SEARXNG_ANSWER) as stand:
        hits = await SearxngSearch(stand.url + "/").search("python asyncio", max_results=5)
    assert stand.seen[0]["query"] == {"q": "python asyncio", "format": "json", "pageno": "1"}
    assert hits == [
        SearchHit(
            "https://docs.python.org/3/library/asyncio.html",
            "asyncio — Asynchronous I/O",
            "asyncio is a library to write concurrent code.",
        ),
        SearchHit("https://realpython.com/async-io-python/", "Async IO", ""),
    ]


async def test_searxng_without_json_format_says_how_to_enable_it() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403, text="Forbidden")

    async with serve_route("GET", "/search", handler) as base:
        with pytest.raises(SearchError, match=r"HTTP 403.*search\.formats") as err:
            await SearxngSearch(base).search("x", max_results=5)
    assert err.value.status_code == 403


# --- Brave: GET /res/v1/web/search, X-Subscription-Token -> {"web": {"results": [...]}}


BRAVE_ANSWER: dict[str, Any] = {
    "type": "search",
    "query": {"original": "why is the sky blue", "more_results_available": True},
    "mixed": {"type": "mixed", "main": [{"type": "web", "index": 0, "all": False}]},
    "web": {
        "type": "search",
        "family_friendly": True,
        "results": [
            {
                "type": "search_result",
                "title": "Rayleigh scattering - Wikipedia",
                "url": "https://en.wikipedia.org/wiki/Rayleigh_scattering",
                "is_source_local": False,
                "description": "<strong>Rayleigh</strong> scattering is the "
                "scattering of light by particles &amp; molecules.",
                "profile": {"name": "Wikipedia", "url": "https://en.wikipedia.org"},
                "language": "en",
            }
        ],
    },
}


async def test_brave_web_search() -> None:
    async with service("GET", "/res/v1/web/search", BRAVE_ANSWER) as stand:
        hits = await BraveSearch(KEY, base_url=stand.url).search(
            "why is the sky blue", max_results=25, allowed_domains=["wikipedia.org"]
        )
    assert stand.seen[0]["query"] == {"q": "why is the sky blue site:wikipedia.org", "count": "20"}
    assert stand.seen[0]["headers"]["X-Subscription-Token"] == KEY
    assert stand.seen[0]["headers"]["Accept"] == "application/json"
    assert hits == [
        SearchHit(
            "https://en.wikipedia.org/wiki/Rayleigh_scattering",
            "Rayleigh scattering - Wikipedia",
            "Rayleigh scattering is the scattering of light by particles & molecules.",
        )
    ]


async def test_brave_bad_key_names_the_variable_and_hides_the_key() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        token = request.headers.get("X-Subscription-Token", "")
        return web.json_response(
            {
                "type": "ErrorResponse",
                "error": {
                    "code": "SUBSCRIPTION_TOKEN_INVALID",
                    "detail": f"token {token} is invalid",
                },
            },
            status=401,
        )

    async with serve_route("GET", "/res/v1/web/search", handler) as base:
        with pytest.raises(SearchError) as err:
            await BraveSearch(KEY, base_url=base).search("x", max_results=5)
    assert "BRAVE_API_KEY" in str(err.value) and "401" in str(err.value)
    assert KEY not in str(err.value) and KEY not in repr(BraveSearch(KEY))


# --- Tavily: POST /search, Authorization: Bearer -> {"results": [{title, url, content, score}]}


TAVILY_ANSWER: dict[str, Any] = {
    "query": "sky",
    "follow_up_questions": None,
    "answer": None,
    "images": [],
    "results": [
        {
            "title": "Why Is the Sky Blue? | NASA Space Place",
            "url": "https://spaceplace.nasa.gov/blue-sky/",
            "content": "Sunlight reaches Earth's atmosphere and is scattered.",
            "score": 0.98,
            "raw_content": None,
        }
    ],
    "response_time": 1.09,
}


async def test_tavily_search() -> None:
    async with service("POST", "/search", TAVILY_ANSWER) as stand:
        hits = await TavilySearch(KEY, base_url=stand.url).search(
            "sky", max_results=3, allowed_domains=["nasa.gov"], excluded_domains=["x.com"]
        )
    assert stand.seen[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert stand.seen[0]["body"] == {
        "query": "sky",
        "max_results": 3,
        "search_depth": "basic",
        "include_domains": ["nasa.gov"],
        "exclude_domains": ["x.com"],
    }
    assert hits == [
        SearchHit(
            "https://spaceplace.nasa.gov/blue-sky/",
            "Why Is the Sky Blue? | NASA Space Place",
            "Sunlight reaches Earth's atmosphere and is scattered.",
        )
    ]


# --- Exa: POST /search, x-api-key -> {"results": [{id, url, title, text, highlights}]}


EXA_ANSWER: dict[str, Any] = {
    "requestId": "b5947044c4b78efa9552a7c89b306d95",
    "resolvedSearchType": "neural",
    "results": [
        {
            "id": "https://arxiv.org/abs/2307.06435",
            "title": "A Comprehensive Overview of Large Language Models",
            "url": "https://arxiv.org/abs/2307.06435",
            "publishedDate": "2023-07-12T00:00:00.000Z",
            "author": "Naveed, Humza",
            "text": "Large Language Models (LLMs) have recently demonstrated "
            "remarkable capabilities.",
        },
        {
            "id": "x",
            "title": "Second",
            "url": "https://example.org/2",
            "highlights": ["first point", "second point"],
            "highlightScores": [0.4, 0.3],
        },
    ],
    "costDollars": {"total": 0.005},
}


async def test_exa_search() -> None:
    async with service("POST", "/search", EXA_ANSWER) as stand:
        hits = await ExaSearch(KEY, base_url=stand.url).search(
            "llm survey", max_results=2, excluded_domains=["reddit.com"]
        )
    assert stand.seen[0]["headers"]["x-api-key"] == KEY
    assert stand.seen[0]["body"] == {
        "query": "llm survey",
        "numResults": 2,
        "contents": {"text": {"maxCharacters": 500}},
        "excludeDomains": ["reddit.com"],
    }
    assert [h.url for h in hits] == ["https://arxiv.org/abs/2307.06435", "https://example.org/2"]
    assert hits[0].snippet.startswith("Large Language Models (LLMs)")
    assert hits[1].snippet == "first point … second point"


# --- every service call: its own time bound, and the environment's proxy


@asynccontextmanager
async def silent_service() -> AsyncIterator[str]:
    """A loopback service that takes connections and never answers on them."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in held:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()


async def test_a_service_that_never_answers_fails_in_its_own_time_bound() -> None:
    assert TavilySearch(KEY).timeout_s == SearxngSearch("http://s").timeout_s == C.SEARCH_TIMEOUT_S
    async with silent_service() as base:
        backend = SearxngSearch(base, timeout_s=0.05)
        with pytest.raises(SearchError, match=r"SearXNG did not answer within 0\.05s"):
            await backend.search("q", max_results=5)
        out = await WebSearchTool(ExaSearch(KEY, base_url=base, timeout_s=0.05)).run({"query": "q"})
    assert not out.ok and "Exa did not answer within 0.05s" in json.loads(out.content)["error"]


async def test_an_unreachable_service_is_named() -> None:
    async with silent_service() as base:
        pass  # its port is closed now
    with pytest.raises(SearchError, match="Brave Search could not be reached"):
        await BraveSearch(KEY, base_url=base).search("q", max_results=5)


async def test_search_services_go_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hosts: list[str] = []

    async def proxy(request: web.Request) -> web.StreamResponse:
        hosts.append(request.host)
        return web.json_response({"results": [{"url": "https://a.org/", "title": "A"}]})

    async with serve_route("GET", "/search", proxy) as proxy_url:
        for var in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(var, proxy_url)
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        hits = await SearxngSearch("http://searx.test").search("q", max_results=5)
        assert hits == [SearchHit("https://a.org/", "A", "")]
        assert hosts == ["searx.test"]
        # A session made without the environment's trust goes direct: the proxy is dead.
        async with silent_service() as dead:
            pass
        monkeypatch.setenv("HTTP_PROXY", dead)
        monkeypatch.setenv("http_proxy", dead)
        async with new_session(trust_env=False) as direct:
            assert await SearxngSearch(proxy_url, direct).search("q", max_results=5) == hits


# --- ddgs: the library's client is injected (it would go to the internet)


class FakeDDGS:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((query, kwargs))
        return [
            {"title": "Rust", "href": "https://www.rust-lang.org/", "body": "A language."},
            {"title": "no href", "body": "dropped"},
        ]


async def test_ddgs_backend_uses_the_client_text_api() -> None:
    client = FakeDDGS()
    hits = await DdgsSearch(client).search("rust", max_results=4, excluded_domains=["x.com"])
    assert client.calls == [("rust -site:x.com", {"max_results": 4})]
    assert hits == [SearchHit("https://www.rust-lang.org/", "Rust", "A language.")]


async def test_ddgs_no_results_is_an_empty_list() -> None:
    class Empty:
        def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
            raise RuntimeError("No results found.")

    assert await DdgsSearch(Empty()).search("zzz", max_results=5) == []


# --- local: BM25 over a folder of real documents


async def test_local_backend_ranks_real_documents() -> None:
    backend = LocalSearch(SITE)
    hits = await backend.search("punycode encoding RFC 3492", max_results=3)
    assert hits[0].title == "Punycode | Node.js v20.20.2 Documentation"
    assert hits[0].url == (SITE / "node-punycode.html").resolve().as_uri()
    assert "Punycode" in hits[0].snippet
    assert len({h.url for h in hits}) == len(hits)
    ffi = await backend.search("closure ffi_closure_alloc", max_results=1)
    assert [h.title for h in ffi] == [
        "Closure Example (libffi: the portable foreign function interface library)"
    ]
    md = await backend.search("hello-world.js web server", max_results=1)
    assert md[0].title == "Usage and example"
    txt = await backend.search("update-passwd master files uids gids", max_results=1)
    assert txt[0].url.endswith("base-passwd-README.txt")
    assert await backend.search("qwertyuiop", max_results=3) == []


def test_local_backend_needs_a_real_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PARLEY_SEARCH_DIR"):
        LocalSearch(tmp_path / "missing")


async def test_local_hits_can_be_fetched_and_nothing_outside_the_folder() -> None:
    hit = (await LocalSearch(SITE).search("what is rustdoc", max_results=1))[0]
    fetcher = WebFetcher(local_root=SITE)
    page = await fetcher.fetch(hit.url)
    assert page.error is None and page.title == "What is rustdoc? - The rustdoc book"
    assert "ships with a tool called `rustdoc`" in page.content
    outside = await fetcher.fetch("file:///etc/passwd")
    assert outside.error is not None and "outside the local search folder" in outside.error
    sneaky = await fetcher.fetch(SITE.as_uri() + "/../../conftest.py")
    assert sneaky.error is not None and "outside the local search folder" in sneaky.error
    unset = await WebFetcher().fetch(hit.url)
    assert unset.error is not None and "only http and https" in unset.error


def test_default_fetcher_reads_the_local_folder_and_can_be_switched_off() -> None:
    fetcher = default_fetcher(load_settings({"PARLEY_SEARCH_DIR": str(SITE)}))
    assert fetcher is not None and fetcher.local_root == SITE.resolve()
    assert default_fetcher(load_settings({"PARLEY_WEB_FETCH": "off"})) is None


# --- choosing the default backend


def search_for(env: dict[str, str]) -> object:
    return default_search(load_settings({**env, "PARLEY_CONFIG": "/nonexistent/parley.toml"}))


def test_default_is_the_first_service_with_credentials(tmp_path: Path) -> None:
    assert search_for({}) is None
    env = {"EXA_API_KEY": KEY, "TAVILY_API_KEY": KEY, "PARLEY_SEARCH_DIR": str(tmp_path)}
    assert isinstance(search_for(env), TavilySearch)
    assert isinstance(search_for({**env, "BRAVE_API_KEY": KEY}), BraveSearch)
    assert isinstance(search_for({**env, "SEARXNG_URL": "http://s"}), SearxngSearch)
    assert isinstance(search_for({"EXA_API_KEY": KEY}), ExaSearch)
    assert isinstance(search_for({"PARLEY_SEARCH_DIR": str(tmp_path)}), LocalSearch)
    assert isinstance(search_for({**env, "PARLEY_SEARCH": "ddgs"}), DdgsSearch)
    assert search_for({**env, "PARLEY_SEARCH": "off"}) is None
    brave = search_for({"BRAVE_API_KEY": KEY, "BRAVE_BASE_URL": "http://127.0.0.1:9"})
    assert isinstance(brave, BraveSearch) and brave.base_url == "http://127.0.0.1:9"


def test_a_chosen_backend_without_its_setting_names_it() -> None:
    with pytest.raises(ConfigError, match=r"PARLEY_SEARCH.*brave needs BRAVE_API_KEY"):
        search_for({"PARLEY_SEARCH": "brave"})
    with pytest.raises(ConfigError, match="one of searxng, brave"):
        search_for({"PARLEY_SEARCH": "bing"})


def test_runtime_wires_the_env_backend_and_injected_fakes_win() -> None:
    env = {"TAVILY_API_KEY": KEY, "PARLEY_CONFIG": "/nonexistent/parley.toml"}
    assert isinstance(build(Setup(settings=load_settings(env))).search, TavilySearch)
    fake = FakeSearch()
    assert build(Setup(settings=load_settings(env), search=fake)).search is fake
    none = load_settings({"PARLEY_CONFIG": "/nonexistent/parley.toml"})
    assert build(Setup(settings=none)).search is None
