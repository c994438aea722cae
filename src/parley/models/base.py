"""The model seam and the engine's own small types for what a model says.

A `ChatModel` takes a request body (Chat Completions fields: `messages`, `tools`,
`tool_choice`, sampling, `response_format`, and whatever else the caller passes on) and
answers with a `Turn`, or streams `Delta`s that a `TurnBuilder` folds into one. How the
answer travelled (JSON over HTTP, tokens from llama.cpp, a Python function) stays inside
the model; the tool loop, the panel, the judge and every face read only these types.

Conversations stay in the Chat Completions message shape (a list of `{"role", "content",
...}` dicts): it is the shape every upstream accepts, and a client's history is passed on
as it came.

`Forwarding` is a second, optional capability: a model that can send a client's request
body upstream as it came and hand back the raw response (the gateway's passthrough).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import aiohttp
from pydantic import BaseModel

from parley.errors import UpstreamError
from parley.models.retry import retryable


class Source(BaseModel):
    """A page a model read or cited (a fusion result's `sources`)."""

    url: str
    title: str = ""


@dataclass
class ToolCall:
    """A function call a model made: its id, the function's name, its JSON arguments."""

    id: str
    name: str
    arguments: str = "{}"

    def wire(self) -> dict[str, Any]:
        """This call in a conversation's assistant message."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class Turn:
    """One assistant turn, however it arrived."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str = ""
    reasoning: str = ""
    response_id: str = ""
    # Pages the model's provider searched for it and cited (OpenRouter's web search).
    citations: list[Source] = field(default_factory=list)

    def message(self) -> dict[str, Any]:
        """This turn as an assistant message to append to the conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            msg["tool_calls"] = [c.wire() for c in self.tool_calls]
        return msg


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call: the first piece of a call names it, later ones add
    to its arguments (some servers repeat the name; `TurnBuilder` copes)."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed turn."""

    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str = ""
    response_id: str = ""
    citations: tuple[Source, ...] = ()


@runtime_checkable
class ChatModel(Protocol):
    """A model, for one model id.

    `body` holds Chat Completions request fields (unknown ones are passed on); `headers`
    are extra request headers such as the fusion depth.
    """

    async def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> Turn:
        """Answer in one piece."""
        ...

    def stream(self, body: dict[str, Any], headers: Mapping[str, str]) -> AsyncIterator[Delta]:
        """Answer piece by piece, as the model writes."""
        ...


@runtime_checkable
class Forwarding(Protocol):
    """A model that can pass a client's request through: the body goes upstream as the
    client sent it (only the model id rewritten; `raw`, when given, is those exact bytes)
    to `endpoint` (Chat Completions, or `responses`), and the upstream's response comes
    back unparsed, to be piped to the client."""

    def forward(
        self,
        body: dict[str, Any],
        headers: Mapping[str, str],
        raw: bytes | None = None,
        endpoint: str = "chat/completions",
    ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]: ...


class TurnBuilder:
    """Folds deltas into a Turn; text is kept as a list of parts, joined once."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index -> [id, name]
        self._args: dict[int, list[str]] = {}
        self.turn = Turn()

    def feed(self, delta: Delta) -> None:
        t = self.turn
        if delta.text:
            self._parts.append(delta.text)
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
        for tc in delta.tool_calls:
            call = self._calls.setdefault(tc.index, ["", ""])
            self._args.setdefault(tc.index, [])
            if tc.id:
                call[0] = tc.id
            # Some servers repeat the whole name in every delta instead of sending it once.
            if tc.name and call[1] != tc.name:
                call[1] += tc.name
            if tc.arguments:
                self._args[tc.index].append(tc.arguments)
        if delta.finish_reason:
            t.finish_reason = delta.finish_reason
        if delta.usage:
            t.usage = delta.usage
        if delta.model:
            t.model = delta.model
        if delta.response_id:
            t.response_id = delta.response_id
        t.citations.extend(c for c in delta.citations if c not in t.citations)

    def finish(self) -> Turn:
        """The Turn the deltas added up to; tool calls get their joined arguments and ids."""
        t = self.turn
        t.content = "".join(self._parts)
        t.reasoning = "".join(self._reasoning)
        t.tool_calls = [
            ToolCall(call_id or f"call_{idx}", name, "".join(self._args[idx]))
            for idx, (call_id, name) in sorted(self._calls.items())
        ]
        return t


def deltas_of(turn: Turn) -> list[Delta]:
    """A whole turn as the deltas a streaming server would send: reasoning, text, tool
    calls, then the finish with its usage."""
    out: list[Delta] = []
    if turn.reasoning:
        out.append(Delta(reasoning=turn.reasoning))
    if turn.content:
        out.append(Delta(text=turn.content))
    if turn.tool_calls:
        calls = tuple(
            ToolCallDelta(i, c.id, c.name, c.arguments) for i, c in enumerate(turn.tool_calls)
        )
        out.append(Delta(tool_calls=calls))
    out.append(
        Delta(
            finish_reason=turn.finish_reason,
            usage=turn.usage,
            model=turn.model,
            response_id=turn.response_id,
            citations=tuple(turn.citations),
        )
    )
    return out


async def run_turn(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    on_delta: Callable[[Delta], None] | None = None,
) -> Turn:
    """One call, streamed: what is written reaches `on_delta` as it comes, and an
    upstream that goes silent is noticed in seconds (a whole answer may legitimately
    take minutes before its first byte, a stream may not)."""
    tried = False
    while True:
        builder = TurnBuilder()
        cut = False
        try:
            async for delta in model.stream(body, headers):
                cut = True
                builder.feed(delta)
                if on_delta is not None:
                    on_delta(delta)
            return builder.finish()
        except UpstreamError as exc:
            # A stream cut after its first chunk is not retried by the adapter (a byte of
            # it may have reached someone); when nobody was listening, nothing has, and
            # one more try turns a cut into an answer. A failure before any chunk was the
            # adapter's to retry, and it has.
            if on_delta is not None or tried or not cut or not retryable(exc):
                raise
            tried = True


# How a tool result reads once written as text (see `tool_turns_as_text`).
TOOL_RESULT_PREFIX = "[Result of "


def has_tool_turns(messages: list[dict[str, Any]]) -> bool:
    """Whether the conversation holds tool calls or tool results."""
    return any(m.get("role") == "tool" or m.get("tool_calls") for m in messages)


def tool_turns_as_text(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with its tool calls and results written as plain text.

    For a request that offers no tools (the last turn after a spent budget, the outer
    model's answer after fusion, the judge's re-ask): Anthropic and Bedrock reject tool
    blocks in a request that defines no tools, and text reads the same to every model.
    """
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        calls = m.get("tool_calls")
        if role == "assistant" and calls:
            lines = [content_text(m.get("content"))] if m.get("content") else []
            # A client's history is passed on as sent; a malformed call is skipped here
            # rather than failing the whole request.
            for call in calls if isinstance(calls, list) else []:
                if not isinstance(call, dict):
                    continue
                fn = call.get("function")
                fn = fn if isinstance(fn, dict) else {}
                names[str(call.get("id", ""))] = str(fn.get("name") or "a tool")
                lines.append(f"[Called {fn.get('name')} with {fn.get('arguments') or '{}'}]")
            out.append({"role": "assistant", "content": "\n".join(lines)})
        elif role == "tool":
            name = names.get(str(m.get("tool_call_id", "")), "a tool")
            text = content_text(m.get("content"))
            out.append({"role": "user", "content": f"{TOOL_RESULT_PREFIX}{name}]\n{text}"})
        else:
            out.append(m)
    return out


def content_text(content: Any) -> str:
    """A message's content as text, whether a string or a list of parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The last user message with text in it, as text ('' when there is none)."""
    for m in reversed(messages):
        if m.get("role") == "user" and (text := content_text(m.get("content"))):
            return text
    return ""


def parse_arguments(raw: str) -> dict[str, Any] | None:
    """A tool call's arguments as an object; None when they are not a JSON object."""
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
