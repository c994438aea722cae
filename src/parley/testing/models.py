"""In-package fake models that tests and library users share.

    def reply(req: FakeRequest) -> Reply:
        if req.tools and req.step == 0:
            return tool_call("web_search", {"query": "x"})
        return "an answer"

    model = FunctionModel(reply)

A reply is text, a `Turn`, or a whole Chat Completions response dict; raise `UpstreamError`
to play a failing upstream. The function may be async (to wait, or to coordinate panelists).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parley.models.base import TOOL_RESULT_PREFIX, Delta, ToolCall, ToolCallDelta, Turn
from parley.wire.chat_parse import turn_from_response

Reply = str | Turn | dict[str, Any]
ReplyFn = Callable[["FakeRequest"], Reply | Awaitable[Reply]]


@dataclass
class FakeRequest:
    """What the fake model was asked, for the reply function and for assertions."""

    body: dict[str, Any]
    headers: dict[str, str]
    call_index: int
    stream: bool

    @property
    def step(self) -> int:
        """How many assistant turns this conversation already holds (0 on its first call)."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's messages (a copy)."""
        return list(self.body.get("messages") or [])

    @property
    def tools(self) -> list[str]:
        """Names of the function tools offered on this call."""
        return [t.get("function", {}).get("name", "") for t in self.body.get("tools") or []]

    @property
    def last_user(self) -> str:
        """The latest user message's text (content parts as JSON), or ""."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                c = m.get("content")
                return c if isinstance(c, str) else json.dumps(c)
        return ""

    @property
    def tool_results(self) -> list[str]:
        """Tool results in the conversation, also where they arrive written as text (a turn
        that offers no tools, over HTTP)."""
        out = []
        for m in self.messages:
            content = m.get("content")
            if m.get("role") == "tool":
                out.append(str(content))
            elif (
                m.get("role") == "user"
                and isinstance(content, str)
                and content.startswith(TOOL_RESULT_PREFIX)
            ):
                out.append(content.partition("\n")[2])
        return out


def tool_call(name: str, arguments: dict[str, Any], call_id: str | None = None) -> Turn:
    """A turn in which the model calls one tool."""
    return tool_calls([(name, arguments)], [call_id] if call_id else None)


def tool_calls(calls: list[tuple[str, dict[str, Any]]], ids: list[str] | None = None) -> Turn:
    """A turn in which the model calls several tools at once."""
    return Turn(
        tool_calls=[
            ToolCall(ids[i] if ids else f"call_{i}_{name}", name, json.dumps(args))
            for i, (name, args) in enumerate(calls)
        ],
        finish_reason="tool_calls",
    )


def _words(text: str) -> int:
    return max(1, len(text.split())) if text else 0


class FunctionModel:
    """A model whose every turn is decided by a Python function."""

    def __init__(
        self,
        fn: ReplyFn,
        *,
        name: str = "fake/model",
        cost_per_call: float | None = None,
        chunk_words: int = 1,
    ) -> None:
        self.fn = fn
        self.name = name
        self.cost_per_call = cost_per_call
        self.chunk_words = max(1, chunk_words)
        self.requests: list[FakeRequest] = []

    async def _reply(self, body: dict[str, Any], headers: Mapping[str, str], stream: bool) -> Turn:
        # Copy the messages: a caller may keep appending to its list after this call, and
        # what was asked must stay as it was asked.
        snapshot = {**body, "messages": [dict(m) for m in body.get("messages") or []]}
        req = FakeRequest(snapshot, dict(headers), len(self.requests), stream)
        self.requests.append(req)
        out = self.fn(req)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, str):
            turn = Turn(content=out, finish_reason="stop")
        elif isinstance(out, dict):
            turn = turn_from_response(out)
        else:
            turn = out
        if turn.usage is None:
            prompt = sum(_words(str(m.get("content") or "")) for m in req.messages)
            completion = _words(turn.content) + len(turn.tool_calls)
            usage: dict[str, Any] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            if self.cost_per_call is not None:
                usage["cost"] = self.cost_per_call
            turn.usage = usage
        turn.model = turn.model or str(body.get("model") or self.name)
        return turn

    async def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> Turn:
        """The reply function's answer, as a whole turn."""
        turn = await self._reply(body, headers, stream=False)
        turn.response_id = turn.response_id or f"fake-{len(self.requests)}"
        return turn

    async def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[Delta]:
        """The same answer in pieces, as OpenAI-compatible servers send it: reasoning,
        content a few words at a time, tool calls, then the finish with the usage."""
        turn = await self._reply(body, headers, stream=True)
        rid = turn.response_id or f"fake-{len(self.requests)}"
        if turn.reasoning:
            yield Delta(reasoning=turn.reasoning, model=turn.model, response_id=rid)
        words = turn.content.split(" ") if turn.content else []
        for i in range(0, len(words), self.chunk_words):
            piece = " ".join(words[i : i + self.chunk_words])
            if i + self.chunk_words < len(words):
                piece += " "
            yield Delta(text=piece, model=turn.model, response_id=rid)
        if turn.tool_calls:
            calls = tuple(
                ToolCallDelta(i, c.id, c.name, c.arguments) for i, c in enumerate(turn.tool_calls)
            )
            yield Delta(tool_calls=calls, model=turn.model, response_id=rid)
        yield Delta(
            finish_reason=turn.finish_reason,
            usage=turn.usage,
            model=turn.model,
            response_id=rid,
            citations=tuple(turn.citations),
        )


def echo_model(prefix: str = "") -> FunctionModel:
    """A model that answers with the last user message, for quick wiring checks."""
    return FunctionModel(lambda req: f"{prefix}{req.last_user}")


@dataclass
class ScriptedModel:
    """Replies from a list, in order; handy when a test needs an exact sequence of turns."""

    replies: list[Reply] = field(default_factory=list)

    def model(self) -> FunctionModel:
        """A FunctionModel that gives the replies in order (StopIteration past the end)."""
        it = iter(self.replies)
        return FunctionModel(lambda req: next(it))
