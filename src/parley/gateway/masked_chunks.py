"""Credentials split across the chunks of a piped Chat Completions stream.

The passthrough writes an upstream's stream as it came, each write masked by the
redactor; a credential an upstream quotes across two chunks (`"...sk-or-v1-S"` then
`"ECRET..."`) is whole in neither. So the text of each choice is followed from chunk to
chunk: a chunk whose text ends in what could begin a credential has that end held back
and prepended to the next chunk's text (or put on the choice's finishing chunk), and a
credential completed that way is masked.

A chunk whose text needs no change goes out as the upstream wrote it. The common chunk
(one choice, one text field) is read and, when needed, rewritten without parsing the
rest of it: only its text's string literal is decoded and, if it changes, replaced. Any
other chunk that needs a change is parsed and written again whole, every field kept.

A Responses stream is not followed so: its text deltas are numbered events, and holding
a piece back would mean numbering an event of Parley's own into the upstream's sequence.
"""

from __future__ import annotations

import json
import re
from typing import Any

from parley.redact import Redactor, StreamRedactor
from parley.wire.sse import json_bytes

# The streamed text fields of a chunk's `delta` (reasoning under both spellings).
_TEXT_FIELDS = ("content", "reasoning", "reasoning_content")
# One of them and its string literal (escapes included).
_TEXT = re.compile(rb'"(content|reasoning|reasoning_content)"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)"')
_INDEX = re.compile(rb'"index"\s*:\s*(\d+)')
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')


class MaskedChunks:
    """One piped stream's `data:` lines, with credentials masked across chunks."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._texts: dict[tuple[int, str], StreamRedactor] = {}
        self._last = b""  # the last chunk, whose fields a chunk of held text copies

    def lines(self, data: bytes) -> bytes:
        """`data` (whole lines) with each chunk's text masked in sequence."""
        if not self._redactor or b"data:" not in data:
            return data
        if not any(s.holding for s in self._texts.values()) and self._clean(data):
            return data  # the usual case: nothing held, nothing to hold
        return b"".join(self._line(line) for line in data.splitlines(keepends=True))

    def _clean(self, data: bytes) -> bool:
        """Whether no text in `data` ends in what could begin a credential (a whole one
        the writer masks anyway)."""
        for text in _TEXT.finditer(data):
            given = _decoded(text.group(2))
            if given is None or self._redactor.held_back(given):
                return False
        return True

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:"):
            return line
        if line[5:].strip() == b"[DONE]":
            return self._rest() + line
        self._last = line
        texts = list(_TEXT.finditer(line))
        if len(texts) <= 1 and b'"tool_calls"' not in line:
            quick = self._one_text(line, texts[0] if texts else None)
            if quick is not None:
                return quick
        return self._parsed(line)

    def _one_text(self, line: bytes, text: re.Match[bytes] | None) -> bytes | None:
        """The line with its one choice's text masked, read from the bytes; None when it
        must be parsed (more than one choice, a held piece to put on a chunk with no
        text, a literal that does not decode)."""
        indexes = _INDEX.findall(line)
        if len(indexes) > 1:
            return None
        index = int(indexes[0]) if indexes else 0
        finished = _FINISHED.search(line) is not None
        name = text.group(1).decode() if text else ""
        if finished and any(
            k[0] == index and k[1] != name and s.holding for k, s in self._texts.items()
        ):
            return None  # the piece goes on a field this chunk does not have
        if text is None:
            return line
        given = _decoded(text.group(2))
        if given is None:
            return None
        stream = self._texts.get((index, name))
        if stream is None:
            stream = self._texts[(index, name)] = self._redactor.stream()
        out = stream.feed(given, last=finished)
        if out == given:
            return line
        literal = json_bytes(out)
        return line[: text.start(2) - 1] + literal + line[text.end(2) + 1 :]

    def _rest(self) -> bytes:
        """A chunk with what is still held, for a stream that ends with [DONE] and no
        finish_reason (b"" when nothing is)."""
        held = {k: s.end() for k, s in self._texts.items() if s.holding}
        if not held:
            return b""
        try:
            last = json.loads(self._last[5:])
        except ValueError:
            last = None
        chunk = {k: v for k, v in last.items() if k != "choices"} if isinstance(last, dict) else {}
        chunk["choices"] = [
            {"index": index, "delta": {name: text}, "finish_reason": None}
            for (index, name), text in held.items()
        ]
        return b"data: " + json_bytes(chunk) + b"\n\n"

    def _parsed(self, line: bytes) -> bytes:
        body = line[5:].strip()
        if not body.startswith(b"{"):
            return line
        try:
            chunk = json.loads(body)
        except ValueError:
            return line
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if not isinstance(choices, list):
            return line
        changed = False
        for choice in choices:
            if isinstance(choice, dict):
                changed = self._choice(choice) or changed
        if not changed:
            return line
        return b"data: " + json_bytes(chunk) + line[len(line.rstrip(b"\r\n")) :]

    def _choice(self, choice: dict[str, Any]) -> bool:
        index = choice.get("index", 0)
        delta = choice.get("delta")
        if not isinstance(index, int) or not isinstance(delta, dict):
            return False
        finished = choice.get("finish_reason") is not None
        changed = False
        for name in _TEXT_FIELDS:
            text = delta.get(name)
            stream = self._texts.get((index, name))
            if not isinstance(text, str) and not (finished and stream is not None):
                continue
            if stream is None:
                stream = self._texts[(index, name)] = self._redactor.stream()
            given = text if isinstance(text, str) else ""
            out = stream.feed(given, last=finished)
            if out != given:
                delta[name] = out
                changed = True
        return changed


def _decoded(literal: bytes) -> str | None:
    """A JSON string literal's text (its bytes between the quotes); None if it is not one."""
    if b"\\" not in literal:
        return literal.decode("utf-8", "replace")
    try:
        text = json.loads(b'"' + literal + b'"')
    except ValueError:
        return None
    return text if isinstance(text, str) else None
