"""The model seam: anything that speaks Chat Completions, streaming or not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ChatModel(Protocol):
    """A Chat Completions endpoint for one model id.

    `body` is a Chat Completions request body (dict, unknown fields kept); `headers` are
    extra request headers such as the fusion depth.
    """

    async def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """Return the response body of a non-streaming call."""
        ...

    def stream(
        self, body: dict[str, Any], headers: Mapping[str, str]
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the chunk objects of a streaming call."""
        ...


@dataclass
class Turn:
    """One assistant turn, however it arrived."""

    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str = ""
    reasoning: str = ""
    response_id: str = ""

    def message(self) -> dict[str, Any]:
        """This turn as an assistant message to append to the conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            msg["tool_calls"] = self.tool_calls
        return msg


def turn_from_response(data: dict[str, Any]) -> Turn:
    """The Turn in a non-streaming Chat Completions response (first choice)."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    msg = choice.get("message") or {}
    content = msg.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return Turn(
        content=content or "",
        tool_calls=list(msg.get("tool_calls") or []),
        finish_reason=choice.get("finish_reason"),
        usage=data.get("usage"),
        model=str(data.get("model") or ""),
        reasoning=str(msg.get("reasoning") or msg.get("reasoning_content") or ""),
        response_id=str(data.get("id") or ""),
    )


class TurnBuilder:
    """Folds stream chunks into a Turn; text is kept as a list of parts, joined once."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._args: dict[int, list[str]] = {}
        self.turn = Turn()
        # The reasoning text the last `feed` added (OpenRouter's `reasoning`, or the
        # `reasoning_content` of DeepSeek, vLLM and llama.cpp's server).
        self.reasoning_delta = ""

    def feed(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return the text it added (for progress events)."""
        t = self.turn
        if chunk.get("usage"):
            t.usage = chunk["usage"]
        if chunk.get("model"):
            t.model = str(chunk["model"])
        if chunk.get("id"):
            t.response_id = str(chunk["id"])
        text = ""
        self.reasoning_delta = ""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if piece:
                self._parts.append(piece)
                text += piece
            thought = delta.get("reasoning") or delta.get("reasoning_content")
            if thought:
                self._reasoning.append(str(thought))
                self.reasoning_delta += str(thought)
            for tc in delta.get("tool_calls") or []:
                self._feed_call(tc)
            if choice.get("finish_reason"):
                t.finish_reason = choice["finish_reason"]
        return text

    def _feed_call(self, tc: dict[str, Any]) -> None:
        idx = int(tc.get("index", len(self._calls)))
        call = self._calls.setdefault(
            idx, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        self._args.setdefault(idx, [])
        if tc.get("id"):
            call["id"] = tc["id"]
        fn = tc.get("function") or {}
        name = fn.get("name")
        # Some servers repeat the whole name in every delta instead of sending it once.
        if name and call["function"]["name"] != name:
            call["function"]["name"] += name
        if fn.get("arguments"):
            self._args[idx].append(fn["arguments"])

    def finish(self) -> Turn:
        """The Turn the chunks added up to; tool calls get their joined arguments and ids."""
        t = self.turn
        t.content = "".join(self._parts)
        t.reasoning = "".join(self._reasoning)
        calls = []
        for idx in sorted(self._calls):
            call = self._calls[idx]
            call["function"]["arguments"] = "".join(self._args[idx])
            if not call["id"]:
                call["id"] = f"call_{idx}"
            calls.append(call)
        t.tool_calls = calls
        return t


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
        if role == "assistant" and m.get("tool_calls"):
            lines = [content_text(m.get("content"))] if m.get("content") else []
            for call in m["tool_calls"]:
                fn = call.get("function") or {}
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


async def run_turn(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    on_text: Callable[[str], None] | None = None,
    on_reasoning: Callable[[str], None] | None = None,
) -> Turn:
    """One call; streams when someone listens for text or reasoning, so progress shows as
    it is written."""
    if on_text is None and on_reasoning is None:
        return turn_from_response(await model.complete(body, headers))
    builder = TurnBuilder()
    async for chunk in model.stream(body, headers):
        piece = builder.feed(chunk)
        if on_reasoning is not None and builder.reasoning_delta:
            on_reasoning(builder.reasoning_delta)
        if piece and on_text is not None:
            on_text(piece)
    return builder.finish()
