"""Server-sent events in both directions: writing them (OpenRouter's framing for Chat
Completions, contract section 7) and reading an upstream's.

Comment heartbeats while server tools run, the answer as `data:` events, then
`data: [DONE]`. On Chat Completions, fusion progress for clients that asked for it rides
in comments too (`: response.fusion_call.panel.added {...}`): a `data:` event that is not
a chunk breaks clients that validate chunks. The Responses API names its events
(`event: response.created`). Never `id:` lines: some clients would resend them as
Last-Event-ID and expect a resumable stream.
"""

from __future__ import annotations

import json
from typing import Any

HEARTBEAT = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx and friends must not buffer the stream
]


def json_bytes(body: Any) -> bytes:
    """JSON as UTF-8. A lone surrogate (an upstream can send `"\\ud800"`) has no UTF-8
    form; such a body goes out with every non-ASCII character escaped instead."""
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(body).encode()


def data(obj: Any) -> bytes:
    """One `data:` event."""
    return b"data: " + json_bytes(obj) + b"\n\n"


def event(name: str, obj: Any) -> bytes:
    """A named event (the Responses API names every event)."""
    return b"event: " + name.encode() + b"\n" + data(obj)


def comment(name: str, obj: Any) -> bytes:
    """An SSE comment carrying a named JSON payload: `: <name> <json>`. Every SSE reader
    skips comments, so a Chat Completions client that validates each `data:` chunk is
    untouched, while one that asked for fusion progress reads it from the raw stream
    (JSON has no raw newlines, so the payload stays on its line)."""
    return b": " + name.encode() + b" " + json_bytes(obj) + b"\n\n"


class DataLines:
    """The payload of each `data:` line of an upstream's stream, fed the pieces as they
    come; comments (heartbeats), blank lines and event names are skipped. Lines are
    split here rather than by aiohttp's readline, which refuses lines over 128 KiB (one
    chunk of a long answer can be that big), and a whole piece at a time: one await per
    read rather than per line, and no async generator to finalise when a reader stops at
    `[DONE]` (each such one cost the event loop a wake-up and a task to close it)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, piece: bytes) -> list[bytes]:
        """The payloads of the lines `piece` completes."""
        *lines, self._pending = (self._pending + piece).split(b"\n")
        return [p for p in _payloads(lines) if p]

    def end(self) -> list[bytes]:
        """The payload of a last line the stream did not end with a newline."""
        last, self._pending = self._pending, b""
        return [p for p in _payloads([last]) if p]


def _payloads(lines: list[bytes]) -> list[bytes]:
    return [line[5:].strip() for line in lines if line.startswith(b"data:")]
