"""Offline search over a folder of documents (markdown, text, HTML), ranked with BM25.

Documents are split into passages and indexed with bm25s the first time a search runs
(in a worker thread); a hit is the best passage of a document, its URL the file's
`file://` address. Nothing here touches the network.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.errors import ConfigError, MissingExtraError
from parley.tools.web.protocols import SearchHit

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
}
MAX_FILES = 20_000
MAX_FILE_BYTES = 4_000_000
PASSAGE_CHARS = 1_200
SNIPPET_CHARS = 300


@dataclass
class _Doc:
    url: str
    title: str


@dataclass
class _Index:
    retriever: Any
    passages: list[str]
    owners: list[int]
    docs: list[_Doc]


class LocalSearch:
    """BM25 over the documents under `folder`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise ConfigError(
                f"web.search_dir (PARLEY_SEARCH_DIR)={str(folder)!r} is not a folder; "
                "point it at your documents"
            )
        self._index: _Index | None = None
        self._lock = asyncio.Lock()

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]:
        async with self._lock:
            if self._index is None:
                self._index = await asyncio.to_thread(build_index, self.folder)
        return await asyncio.to_thread(_query, self._index, query, max_results)


def _read(path: Path) -> tuple[str, str]:
    """(title, text) of one file."""
    kind = SUFFIXES[path.suffix.lower()]
    raw = path.read_bytes()[:MAX_FILE_BYTES]
    if kind == "html":
        from parley.tools.web.extract import extract_sync

        got = extract_sync(raw, "text/html; charset=utf-8", path.as_uri())
        return got.title or path.stem, got.content
    text = raw.decode("utf-8", errors="replace")
    heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M) if kind == "markdown" else None
    return (heading.group(1) if heading else path.stem.replace("-", " ").replace("_", " ")), text


def _passages(text: str) -> list[str]:
    out: list[str] = []
    current = ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if current and len(current) + len(para) > PASSAGE_CHARS:
            out.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        out.append(current)
    return out


def build_index(folder: Path) -> _Index:
    """Read and index every supported file under `folder` (blocking)."""
    try:
        import bm25s  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise MissingExtraError("the local search backend", "web") from None
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )[:MAX_FILES]
    docs: list[_Doc] = []
    passages: list[str] = []
    owners: list[int] = []
    for path in files:
        try:
            title, text = _read(path)
        except (OSError, ValueError):
            continue  # an unreadable file is skipped, not fatal to the whole folder
        doc_id = len(docs)
        docs.append(_Doc(path.resolve().as_uri(), title))
        for passage in _passages(f"{title}\n\n{text}"):
            passages.append(passage)
            owners.append(doc_id)
    retriever = bm25s.BM25()
    if passages:
        tokens = bm25s.tokenize(passages, stopwords="en", show_progress=False)
        retriever.index(tokens, show_progress=False)
    return _Index(retriever, passages, owners, docs)


def _query(index: _Index, query: str, max_results: int) -> list[SearchHit]:
    import bm25s  # type: ignore[import-untyped, import-not-found, unused-ignore]

    if not index.passages:
        return []
    tokens = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)
    if not tokens or not tokens[0]:
        return []
    k = min(len(index.passages), max_results * 4)
    ids, scores = index.retriever.retrieve(tokens, k=k, show_progress=False)
    hits: list[SearchHit] = []
    seen: set[int] = set()
    for pid, score in zip(ids[0], scores[0], strict=True):
        owner = index.owners[int(pid)]
        if score <= 0 or owner in seen:
            continue
        seen.add(owner)
        doc = index.docs[owner]
        snippet = " ".join(index.passages[int(pid)].split())[:SNIPPET_CHARS]
        hits.append(SearchHit(url=doc.url, title=doc.title, snippet=snippet))
        if len(hits) >= max_results:
            break
    return hits
