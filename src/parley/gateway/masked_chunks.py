"""Credentials split across the chunks of a piped Chat Completions stream.

The passthrough writes an upstream's stream as it came, each write masked by the
redactor; a credential an upstream quotes across two chunks (`"...sk-or-v1-S"` then
`"ECRET..."`) is whole in neither. So the text of each choice is followed from chunk to
chunk: a chunk whose text ends in what could begin a credential has that end held back
and prepended to the next chunk's text (or put on the choice's finishing chunk), and a
credential completed that way is masked. A chunk whose text needs no change goes out as
the upstream wrote it; one that does is written again from its parsed JSON, every field
kept.

A Responses stream is not followed so: its text deltas are numbered events, and holding
a piece back would mean numbering an event of Parley's own into the upstream's sequence.
"""

from __future__ import annotations

import json
from typing import Any

from parley.redact import Redactor, StreamRedactor
from parley.wire.sse import json_bytes

# The streamed text fields of a chunk's `delta` (reasoning under both spellings).
_TEXT_FIELDS = ("content", "reasoning", "reasoning_content")


class MaskedChunks:
    """One piped stream's `data:` lines, with credentials masked across chunks."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._texts: dict[tuple[int, str], StreamRedactor] = {}

    def lines(self, data: bytes) -> bytes:
        """`data` (whole lines) with each chunk's text masked in sequence."""
        if not self._redactor or b"data:" not in data:
            return data
        return b"".join(self._line(line) for line in data.splitlines(keepends=True))

    def _line(self, line: bytes) -> bytes:
        head = line[:5]
        body = line[5:].strip()
        if head != b"data:" or not body.startswith(b"{"):
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
            out = stream.feed(given) + (stream.end() if finished else "")
            if out != given:
                delta[name] = out
                changed = True
        return changed
