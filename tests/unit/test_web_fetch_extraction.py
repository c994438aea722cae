"""web_fetch against a loopback site of real documents: clean text in, boilerplate out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from parley.config import load_settings
from parley.tools.web.extract import (
    ExtractError,
    extract,
    extract_sync,
    kind_of,
    markdownify_fallback,
)
from parley.tools.web.fetch_tool import BEGIN_UNTRUSTED, END_UNTRUSTED, UNTRUSTED_NOTE, WebFetchTool
from parley.tools.web.fetcher import WebFetcher, default_fetcher
from parley.tools.web.netguard import NetPolicy
from web_kit import LOOPBACK, PDF_LINES, SITE, Site, fetch_json, serve_site

# page -> (title, text that must be there, boilerplate that must be gone)
PAGES = {
    "npm-ping.html": (
        "npm-ping",
        ["Ping the configured or given npm registry", "The base URL of the npm registry"],
        ["Edit this page on GitHub", "npm command-line interface"],
    ),
    "node-punycode.html": (
        "Punycode | Node.js v20.20.2 Documentation",
        ["Punycode is a character encoding scheme defined by RFC 3492", "punycode.version"],
        ["Assertion testing", "Other versions", "Asynchronous context tracking"],
    ),
    "what-is-rustdoc.html": (
        "What is rustdoc? - The rustdoc book",
        ["ships with a tool called `rustdoc`", "This covers the simplest use-cases"],
        ["Keyboard shortcuts", "Print this book", "Next chapter", "Command-line arguments"],
    ),
    "libffi-closure-example.html": (
        "Closure Example (libffi: the portable foreign function interface library)",
        ["creates a new `puts` by binding", "ffi_closure_free(closure)"],
        ["Next: Thread Safety", "Previous: The Closure API"],
    ),
}


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serve_site() as s:
        yield s


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_html_page_becomes_clean_markdown(site: Site, name: str) -> None:
    title, present, gone = PAGES[name]
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url(f"site/{name}"))
    assert page.error is None
    assert page.title == title
    for text in present:
        assert text in page.content
    for text in gone:
        assert text not in page.content
    assert "<div" not in page.content and "<script" not in page.content


async def test_markdown_text_and_json_pass_through(site: Site) -> None:
    fetcher = WebFetcher(policy=LOOPBACK)
    md = await fetcher.fetch(site.url("site/node-synopsis.md"))
    assert md.title == "Usage and example"
    assert md.content.startswith("# Usage and example")
    txt = await fetcher.fetch(site.url("site/base-passwd-README.txt"))
    assert txt.content.startswith("base-passwd for Debian")
    js = await fetcher.fetch(site.url("site/semver-package.json"))
    assert fetch_json(js.content)["name"] == "semver"


async def test_pdf_text_and_title(site: Site) -> None:
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url("report.pdf"))
    assert page.error is None
    assert page.title == "Parley test report"
    for line in PDF_LINES:
        assert line in page.content


async def test_other_types_are_refused_with_what_is_readable(site: Site) -> None:
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url("image.png"))
    assert page.error is not None
    assert "image/png" in page.error and "HTML" in page.error and "PDF" in page.error


async def test_accept_header_prefers_markdown(site: Site) -> None:
    page = await WebFetcher(policy=LOOPBACK).fetch(site.url("headers"))
    accept = fetch_json(page.content)["Accept"]
    assert accept.startswith("text/markdown")
    assert "text/html;q=0.9" in accept


async def test_body_is_capped_while_streaming(site: Site) -> None:
    page = await WebFetcher(policy=LOOPBACK, max_bytes=100_000).fetch(site.url("big.txt"))
    assert page.error is None
    assert page.content.startswith("0123456789abcdef")
    assert "[truncated: the page is larger than 100000 bytes]" in page.content
    assert len(page.content) < 100_100


async def test_redirects_are_followed_up_to_five(site: Site) -> None:
    ok = await WebFetcher(policy=LOOPBACK).fetch(site.url("chain/4"))  # 5 redirects, then the page
    assert ok.error is None and ok.title == "npm-ping"
    assert ok.url.endswith("/site/npm-ping.html")
    too_many = await WebFetcher(policy=LOOPBACK).fetch(site.url("chain/5"))
    assert too_many.error == "more than 5 redirects"


async def test_http_errors_come_back_as_failed_results(site: Site) -> None:
    tool = WebFetchTool(WebFetcher(policy=LOOPBACK))
    out = await tool.run({"url": site.url("site/nope.html")})
    data = fetch_json(out.content)
    assert not out.ok
    assert data == {"status": "failed", "error": "HTTP 404 Not Found", "url": data["url"]}
    assert data["url"].endswith("/site/nope.html")


async def test_tool_result_shape_and_untrusted_marking(site: Site) -> None:
    tool = WebFetchTool(WebFetcher(policy=LOOPBACK))
    url = site.url("site/npm-ping.html")
    out = await tool.run({"url": url})
    data = fetch_json(out.content)
    assert set(data) == {"url", "title", "content", "status", "retrieved_at"}
    assert data["status"] == "completed" and data["url"] == url and data["title"] == "npm-ping"
    assert data["retrieved_at"].endswith("+00:00")
    content = data["content"]
    assert content.startswith(UNTRUSTED_NOTE)
    assert BEGIN_UNTRUSTED in content and content.endswith(END_UNTRUSTED)
    assert [(s.url, s.title) for s in out.sources] == [(url, "npm-ping")]


def test_kind_sniffing_without_a_content_type() -> None:
    assert kind_of("", b"%PDF-1.4 ...") == "pdf"
    assert kind_of("application/octet-stream", b"<!DOCTYPE html><html>") == "html"
    assert kind_of("", b"plain words") == "text"
    assert kind_of("", b"\x00\x01binary") == "unknown"
    assert kind_of("application/ld+json", b"{}") == "json"


def test_invalid_json_and_empty_pdf_are_clear_errors() -> None:
    with pytest.raises(ExtractError, match="not valid JSON"):
        extract_sync(b"{oops", "application/json")
    with pytest.raises(ExtractError, match="cannot read the PDF"):
        extract_sync(b"%PDF-1.4 broken", "application/pdf")


TINY = (
    "<html><head><title>Tiny</title></head><body><nav><a href='/'>Home</a></nav>"
    "<main><h1>Tiny</h1><p>Short.</p></main><footer>Footer text</footer></body></html>"
)


def test_tiny_page_keeps_its_text_and_drops_boilerplate() -> None:
    got = extract_sync(TINY.encode(), "text/html")
    assert got.title == "Tiny"
    assert "Short." in got.content
    assert "Home" not in got.content and "Footer text" not in got.content


def test_markdownify_fallback_keeps_main_and_drops_boilerplate() -> None:
    text = markdownify_fallback(TINY)
    assert text.startswith("# Tiny") and "Short." in text
    assert "Home" not in text and "Footer text" not in text


def test_the_default_fetchers_policy_comes_from_the_settings() -> None:
    env = {"PARLEY_ALLOW_PRIVATE_URLS": "10.1.0.0/16, intranet.example"}
    fetcher = default_fetcher(load_settings(env))
    assert fetcher is not None
    assert fetcher.policy == NetPolicy.parse("10.1.0.0/16,intranet.example")


def test_charset_from_a_meta_tag_when_the_header_has_none() -> None:
    html = "<html><head><meta charset='iso-8859-1'><title>Café crème</title></head></html>"
    assert extract_sync(html.encode("latin-1"), "text/html").title == "Café crème"


async def test_extraction_past_its_time_bound_is_a_clear_error() -> None:
    html = (SITE / "node-punycode.html").read_bytes()
    with pytest.raises(ExtractError, match="took longer than 0s"):
        await extract(html, "text/html", limit_s=0)


class CountingPool(ThreadPoolExecutor):
    """A loop's default pool that counts what it is given (DNS lookups go there)."""

    def __init__(self) -> None:
        super().__init__(1)
        self.jobs = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


async def test_extraction_keeps_out_of_the_default_pool() -> None:
    pool = CountingPool()
    asyncio.get_running_loop().set_default_executor(pool)
    page = await extract((SITE / "npm-ping.html").read_bytes(), "text/html")
    assert page.title == "npm-ping" and pool.jobs == 0
