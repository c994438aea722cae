"""A stream's framing: once `[DONE]` is written, nothing more is (no late heartbeat, no
late error)."""

from __future__ import annotations

from typing import Any

from parley.gateway.streaming import Stream


async def test_nothing_is_sent_after_done() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        raise AssertionError("not read")

    out = Stream(send, receive, lambda err: b"data: " + str(err).encode() + b"\n\n")
    await out.write(b"data: {}\n\n")
    await out.end()
    await out.write(b": OPENROUTER PROCESSING\n\n")
    await out.error({"error": {"message": "late"}})
    bodies = b"".join(m.get("body", b"") for m in sent)
    assert bodies.endswith(b"data: [DONE]\n\n")
