"""web_fetch reads HTML in the default install too: without the `web` extra, a reader on
the standard library keeps the page's text and drops its menus, scripts and footers."""

from __future__ import annotations

from pathlib import Path

from parley.config import load_settings
from parley.tools.web.fetcher import default_fetcher
from parley.tools.web.lean_html import to_markdown

SITE = Path(__file__).resolve().parents[1] / "data" / "site"
PAGE = """<html><head><title>T</title><style>p {color: red}</style><script>alert(1)</script>
</head><body><header><ul><li><a href="/">Home</a></li></ul></header><nav>Menu</nav>
<main><h1>Tiny  page</h1><p>Short. <a href="/x">A link</a> stays as text.</p>
<pre>  indented
    code</pre><ul><li>one</li><li>two</li></ul>
<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table></main>
<footer>Footer text</footer></body></html>"""


def test_the_main_text_comes_out_as_markdown() -> None:
    text = to_markdown(PAGE)
    assert text.startswith("# Tiny page")
    assert "Short. A link stays as text." in text
    assert "```\n  indented\n    code\n```" in text
    assert "- one\n- two" in text
    assert "| k | v" in text and "| a | 1" in text
    for gone in ("Home", "Menu", "Footer text", "alert", "color: red"):
        assert gone not in text


def test_real_pages_keep_their_heading_and_body() -> None:
    rustdoc = to_markdown((SITE / "what-is-rustdoc.html").read_text())
    assert "What is rustdoc?" in rustdoc
    assert "ships with a tool called `rustdoc`" in rustdoc or "ships with a tool called" in rustdoc


def test_web_fetch_is_on_by_default_and_can_be_turned_off() -> None:
    assert default_fetcher(load_settings({})) is not None
    assert default_fetcher(load_settings({"PARLEY_WEB_FETCH": "off"})) is None
