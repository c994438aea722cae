"""Chat Completions as Parley answers: the response, the stream's chunks and their ids,
each built here and nowhere else, from the typed models below.

Strict clients validate every field: a response always carries `system_fingerprint`
(null when unknown), a chunk's choice always carries `finish_reason` (null until the end).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from parley.models.base import Delta, Source, Turn
from parley.validation import Passthrough


def new_id() -> str:
    """A response id, in OpenRouter's spelling (`gen-...`); the one place ids are made."""
    return f"gen-parley-{uuid.uuid4().hex[:24]}"


class ChatMessage(Passthrough):
    """An assistant message in a response; fields Parley does not know are kept."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatChoice(Passthrough):
    """One choice of a non-streaming response."""

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


class ChatResponse(Passthrough):
    """A non-streaming Chat Completions response."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    system_fingerprint: str | None = None
    usage: dict[str, Any] | None = None


class ChunkChoice(Passthrough):
    """One choice of a streamed chunk."""

    index: int = 0
    delta: dict[str, Any]
    finish_reason: str | None = None


class ChatChunk(Passthrough):
    """One streamed Chat Completions chunk (the usage chunk has empty `choices`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: dict[str, Any] | None = None


def response(
    *,
    model: str,
    content: str | None,
    finish_reason: str,
    usage: dict[str, Any] | None,
    tool_calls: list[dict[str, Any]] | None = None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """A whole response with one choice; what was not given stays absent, as on the
    wire, except the fields strict clients require (`system_fingerprint`, null)."""
    message = ChatMessage(role="assistant", content=content)
    if tool_calls:
        message.tool_calls = tool_calls
    return ChatResponse(
        id=response_id or new_id(),
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[ChatChoice(index=0, message=message, finish_reason=finish_reason)],
        system_fingerprint=None,
        usage=usage,
    ).model_dump(exclude_unset=True)


def response_of_turn(turn: Turn, model: str, response_id: str | None = None) -> dict[str, Any]:
    """A model's turn as a whole response (a fake upstream, an in-process passthrough)."""
    message = turn.message()
    if message["content"] is None and not turn.tool_calls:
        message["content"] = ""
    out = response(
        model=model,
        content=message["content"],
        finish_reason=turn.finish_reason or "stop",
        usage=turn.usage,
        tool_calls=message.get("tool_calls"),
        response_id=response_id or turn.response_id or None,
    )
    if turn.reasoning:
        out["choices"][0]["message"]["reasoning"] = turn.reasoning
    if turn.citations:
        out["choices"][0]["message"]["annotations"] = url_citations(turn.citations)
    return out


def url_citations(sources: list[Source] | tuple[Source, ...]) -> list[dict[str, Any]]:
    """Cited pages as OpenRouter's `url_citation` annotations."""
    return [
        {"type": "url_citation", "url_citation": {"url": s.url, "title": s.title}} for s in sources
    ]


class Chunks:
    """Builds the chunks of one streamed completion (shared id, created, model)."""

    def __init__(self, model: str, response_id: str | None = None) -> None:
        self.id = response_id or new_id()
        self.model = model
        self.created = int(time.time())

    def _chunk(self, choices: list[ChunkChoice], **extra: Any) -> dict[str, Any]:
        return ChatChunk(
            id=self.id,
            object="chat.completion.chunk",
            created=self.created,
            model=self.model,
            choices=choices,
            **extra,
        ).model_dump(exclude_unset=True)

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return self._chunk([ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)])

    def role(self) -> dict[str, Any]:
        return self.delta({"role": "assistant", "content": ""})

    def text(self, text: str) -> dict[str, Any]:
        return self.delta({"content": text})

    def tool_calls(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        return self.delta({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]})

    def finish(self, reason: str) -> dict[str, Any]:
        return self.delta({}, reason)

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        return self._chunk([], usage=usage)

    def error(self, error: dict[str, Any]) -> dict[str, Any]:
        """The error event: OpenRouter's shape, `error` at the top with a closing choice
        (`finish_reason: "error"`), so that strict clients still read it as a chunk."""
        choice = ChunkChoice(index=0, delta={"content": ""}, finish_reason="error")
        return {**self._chunk([choice]), **error}

    def of_delta(self, delta: Delta) -> list[dict[str, Any]]:
        """A model's delta as the chunks a server would send: the choice's delta, then
        (on the last one) a usage chunk."""
        body: dict[str, Any] = {}
        if delta.text:
            body["content"] = delta.text
        if delta.reasoning:
            body["reasoning"] = delta.reasoning
        if delta.citations:
            body["annotations"] = url_citations(delta.citations)
        if delta.tool_calls:
            body["tool_calls"] = [
                {
                    "index": tc.index,
                    **({"id": tc.id, "type": "function"} if tc.id else {}),
                    "function": {
                        k: v for k, v in (("name", tc.name), ("arguments", tc.arguments)) if v
                    },
                }
                for tc in delta.tool_calls
            ]
        out = []
        if body or delta.finish_reason:
            out.append(self.delta(body, delta.finish_reason))
        if delta.usage is not None:
            out.append(self.usage(delta.usage))
        return out
