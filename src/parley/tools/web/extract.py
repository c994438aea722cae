"""Fetched bytes -> (title, markdown): the extractor seam behind `web_fetch`.

HTML goes through trafilatura (main text only, as markdown) with markdownify as the fallback
when trafilatura finds nothing; without the `web` extra, through a lean reader built on the
standard library (`lean_html`); text, markdown and JSON pass through; PDF text comes from
pypdf (the `web` extra). Anything else is refused with an error that says which types are
read. Extraction runs under a time bound in a small pool of its own, so one huge page cannot
stall the event loop, and pages that outlive their bound cannot take the default pool's
threads (which also serve every DNS lookup).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import unescape
from typing import Any

from parley.errors import MissingExtraError, ParleyError
from parley.tools.web.lean_html import to_markdown

EXTRACT_TIMEOUT_S = 20.0
# Extraction is CPU-bound and holds the GIL most of the time: more threads would not help.
EXTRACT_WORKERS = 2
# Past this many characters of HTML the extractors get slow and the page is rarely worth it.
MAX_HTML_CHARS = 3_000_000
MAX_PDF_PAGES = 200
READABLE = "HTML, plain text, markdown, JSON and PDF"

# Boilerplate that trafilatura's own heuristics sometimes keep (site-wide menus in headers).
PRUNE_XPATH = [
    "//nav",
    "//footer",
    "//aside",
    "//*[@role='navigation' or @role='contentinfo' or @role='banner' or @role='search']",
    "//header//ul",
    "//header//ol",
    "//header//select",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' nav-panel ')]",
    # Pagers: a block whose own links are rel=next/prev/up (texinfo, Sphinx, mdBook).
    "//*[self::div or self::p][a[@rel='next' or @rel='prev' or @rel='up']]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' breadcrumb ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' breadcrumbs ')]",
]
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_STRIP_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form")


class ExtractError(ParleyError):
    """The content could not be turned into text; the message says why."""


@dataclass
class Extracted:
    title: str
    content: str


def kind_of(content_type: str, body: bytes) -> str:
    """One of html, markdown, text, json, pdf, or the media type itself when unreadable."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    if media in ("text/markdown", "text/x-markdown"):
        return "markdown"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media == "application/pdf":
        return "pdf"
    if media.startswith("text/"):
        return "text"
    if media in ("", "application/octet-stream", "binary/octet-stream"):
        head = body[:512].lstrip()
        if head.startswith(b"%PDF-"):
            return "pdf"
        if head[:15].lower().startswith((b"<!doctype html", b"<html")):
            return "html"
        if media == "" and _looks_textual(body):
            return "text"
    return media or "unknown"


def _looks_textual(body: bytes) -> bool:
    sample = body[:2048]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4  # a character cut at the sample's end
    return True


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


def decode(body: bytes, content_type: str) -> str:
    """Text of `body`: the header's charset, else a <meta> charset, else UTF-8."""
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    if match:
        charset = match.group(1)
    else:
        meta = _CHARSET.search(body, 0, 4096)
        charset = meta.group(1).decode("ascii") if meta else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def extract_sync(body: bytes, content_type: str, url: str = "") -> Extracted:
    """Turn one fetched body into a title and markdown text (blocking; see `extract`)."""
    kind = kind_of(content_type, body)
    if kind == "html":
        return _html(decode(body, content_type), url)
    if kind == "markdown":
        text = decode(body, content_type)
        heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M)
        return Extracted(heading.group(1) if heading else "", text)
    if kind == "text":
        return Extracted("", decode(body, content_type))
    if kind == "json":
        text = decode(body, content_type)
        try:
            json.loads(text)
        except ValueError:
            raise ExtractError("the server said JSON but the body is not valid JSON") from None
        return Extracted("", text)
    if kind == "pdf":
        return _pdf(body)
    raise ExtractError(f"web_fetch cannot read content of type {kind!r}; it reads {READABLE}")


async def extract(
    body: bytes, content_type: str, url: str = "", *, limit_s: float = EXTRACT_TIMEOUT_S
) -> Extracted:
    """`extract_sync` in the extraction pool, bounded by `limit_s` seconds (queueing included).

    On time-out a started extraction runs on to its end (threads cannot be killed) but the
    caller is released and the page reported as unreadable; a queued one never starts.
    """
    job = functools.partial(extract_sync, body, content_type, url)
    try:
        async with asyncio.timeout(limit_s):
            return await asyncio.get_running_loop().run_in_executor(_executor(), job)
    except TimeoutError:
        raise ExtractError(f"extracting the text took longer than {limit_s:g}s") from None


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The process's extraction pool, made on first use (event loops in several threads may
    ask at once)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(EXTRACT_WORKERS, thread_name_prefix="parley-extract")
        return _pool


def _html(html: str, url: str) -> Extracted:
    html = html[:MAX_HTML_CHARS]
    title = html_title(html)
    try:
        import trafilatura
    except ImportError:
        # The default install reads pages too, with the standard library's parser.
        lean = to_markdown(html)
        if not title:
            heading = re.search(r"^#\s+(.+)$", lean, re.M)
            title = heading.group(1).strip() if heading else ""
        return Extracted(title, lean)
    text = trafilatura.extract(
        html,
        url=url or None,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        include_formatting=True,
        include_links=False,
        with_metadata=False,
        prune_xpath=PRUNE_XPATH,
    )
    if not text or not text.strip():
        text = markdownify_fallback(html)
    if not title:
        heading = re.search(r"^#\s+(.+)$", text, re.M)
        title = heading.group(1).strip() if heading else ""
    return Extracted(title, text.strip())


def html_title(html: str) -> str:
    """The document's <title>, whitespace collapsed and entities decoded; '' without one."""
    found = _TITLE.search(html, 0, 200_000)
    return " ".join(unescape(_TAG.sub("", found.group(1))).split()) if found else ""


def markdownify_fallback(html: str) -> str:
    """Boilerplate tags dropped, then the main element (or body) as markdown."""
    try:
        from bs4 import BeautifulSoup
        from markdownify import markdownify
    except ImportError:
        raise MissingExtraError("web_fetch of HTML pages", "web") from None
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(list(_STRIP_TAGS)):
        tag.decompose()
    for tag in soup.select("header ul, header ol, [role=navigation], [role=contentinfo]"):
        tag.decompose()
    root: Any = soup.find("main") or soup.find("article") or soup.body or soup
    text = markdownify(str(root), heading_style="ATX")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _pdf(body: bytes) -> Extracted:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise MissingExtraError("web_fetch of PDF documents", "web") from None
    try:
        reader = PdfReader(io.BytesIO(body))
        pages = [p.extract_text() or "" for p in reader.pages[:MAX_PDF_PAGES]]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractError(f"cannot read the PDF: {exc}") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise ExtractError("the PDF has no extractable text (a scanned document?)")
    return Extracted(title, text)
