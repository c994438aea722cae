"""HTML to markdown with the standard library alone: web_fetch's reader when the `web`
extra (trafilatura) is not installed.

Not trafilatura's quality (no boilerplate scoring), but readable: scripts, styles,
navigation, headers' menus, footers, asides and forms are dropped; the `<main>` or
`<article>` element is kept when there is one; headings, paragraphs, list items, code
blocks and table rows come out as markdown; links keep their text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose whole subtree is dropped.
_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form", "head"}
)
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "blockquote", "tr", "table", "ul", "ol", "br"}
)
_HEADINGS = {f"h{i}": "#" * i for i in range(1, 7)}
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "source", "wbr", "area", "col"})


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0  # depth inside a dropped subtree
        self.pre = 0
        self.stack: list[str] = []
        self.main_start: int | None = None
        self.main_end: int | None = None
        self.in_header = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        role = dict(attrs).get("role") or ""
        if tag not in _VOID:
            self.stack.append(tag)
        if self.skipping or tag in _SKIP or role in ("navigation", "contentinfo", "search"):
            if tag not in _VOID:
                self.skipping += 1
            return
        if tag == "header":
            self.in_header += 1
        if tag in ("ul", "ol") and self.in_header:
            self.skipping += 1  # a site menu in the page header
            return
        if tag in ("main", "article") and self.main_start is None:
            self.main_start = len(self.parts)
        if tag in _HEADINGS:
            self.parts.append(f"\n\n{_HEADINGS[tag]} ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "pre":
            self.pre += 1
            self.parts.append("\n\n```\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Pop to the matching start tag (HTML in the wild leaves tags unclosed).
        if tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if self.skipping:
                self.skipping -= 1
                if top == tag:
                    return
                continue
            self._close(top)
            if top == tag:
                return

    def _close(self, tag: str) -> None:
        if tag == "header":
            self.in_header = max(0, self.in_header - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\n```\n\n")
        elif tag in _HEADINGS or tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag in ("main", "article") and self.main_end is None and self.main_start is not None:
            self.main_end = len(self.parts)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def to_markdown(html: str) -> str:
    """The readable text of `html` as markdown."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    parts = reader.parts
    if reader.main_start is not None:
        parts = parts[reader.main_start : reader.main_end or len(parts)]
    lines: list[str] = []
    fenced = False
    for line in "".join(parts).splitlines():
        if line.strip() == "```":
            fenced = not fenced
            lines.append("```")
        else:
            lines.append(line.rstrip() if fenced else line.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
