"""Server-sent events as OpenRouter sends them for Chat Completions (contract section 7).

Comment heartbeats while server tools run, the answer as ordinary chunks, one chunk with
empty `choices` and the summed usage, then `data: [DONE]`. An error after the stream has
started is a data event carrying `error`. Fusion progress, when a client asks for it, goes
out as named events with OpenRouter's event names. Never `id:` lines: some clients would resend
them as Last-Event-ID and expect a resumable stream.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from parley.gateway.errors import encode

HEARTBEAT = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx and friends must not buffer the stream
]


def data(obj: Any) -> bytes:
    """One `data:` event."""
    return b"data: " + encode(obj) + b"\n\n"


def event(name: str, obj: Any) -> bytes:
    """A named event; Chat Completions clients that did not ask for it never see one."""
    return b"event: " + name.encode() + b"\n" + data(obj)


class Chunks:
    """Builds the chunk objects of one streamed completion (shared id, created, model)."""

    def __init__(self, model: str) -> None:
        self.base: dict[str, Any] = {
            "id": f"gen-parley-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return data({**self.base, "choices": [choice]})

    def text(self, text: str) -> bytes:
        return self.delta({"content": text})

    def role(self) -> bytes:
        return self.delta({"role": "assistant", "content": ""})

    def tool_calls(self, calls: list[dict[str, Any]]) -> bytes:
        indexed = [{"index": i, **c} for i, c in enumerate(calls)]
        return self.delta({"tool_calls": indexed})

    def finish(self, reason: str) -> bytes:
        return self.delta({}, reason)

    def usage(self, usage: dict[str, Any]) -> bytes:
        return data({**self.base, "choices": [], "usage": usage})

    def error(self, error: dict[str, Any]) -> bytes:
        """The error event: OpenRouter's shape, `error` at the top with a closing choice."""
        choice = {"index": 0, "delta": {"content": ""}, "finish_reason": "error"}
        return data({**self.base, **error, "choices": [choice]})
