"""The model seam: anything that speaks Chat Completions, streaming or not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from parley.errors import UpstreamError


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


def turn_from_response(data: dict[str, Any], model: str = "") -> Turn:
    """The Turn in a non-streaming Chat Completions response (first choice).

    A shape the protocol does not allow (`choices: 5`, a message that is a string) is an
    UpstreamError with status 502 naming `model` and the malformed part."""
    choices = _array(data.get("choices"), "choices", model)
    choice = _object(choices[0], "choices[0]", model) if choices else {}
    msg = _object(choice.get("message"), "choices[0].message", model)
    calls = _array(msg.get("tool_calls"), "choices[0].message.tool_calls", model)
    return Turn(
        content=_content(msg.get("content"), "choices[0].message.content", model),
        tool_calls=[
            _tool_call(tc, f"choices[0].message.tool_calls[{i}]", model, whole=True)
            for i, tc in enumerate(calls)
        ],
        finish_reason=_text(choice.get("finish_reason"), "choices[0].finish_reason", model),
        usage=_object(data.get("usage"), "usage", model) if data.get("usage") else None,
        model=str(data.get("model") or ""),
        reasoning=str(msg.get("reasoning") or msg.get("reasoning_content") or ""),
        response_id=str(data.get("id") or ""),
    )


def response_as_chunk(data: dict[str, Any], model: str = "") -> dict[str, Any]:
    """A whole response re-shaped as one stream chunk, for a server that ignored
    `stream`; a malformed one is an UpstreamError (502) as in `turn_from_response`."""
    choices = []
    for i, ch in enumerate(_array(data.get("choices"), "choices", model)):
        ch = _object(ch, f"choices[{i}]", model)
        msg = _object(ch.get("message"), f"choices[{i}].message", model)
        _content(msg.get("content"), f"choices[{i}].message.content", model)
        delta = {k: v for k, v in msg.items() if v is not None}
        where = f"choices[{i}].message.tool_calls"
        calls = _array(delta.get("tool_calls"), where, model)
        if calls:
            delta["tool_calls"] = [
                _as_delta(j, _tool_call(tc, f"{where}[{j}]", model, whole=True))
                for j, tc in enumerate(calls)
            ]
        choices.append(
            {"index": ch.get("index", 0), "delta": delta, "finish_reason": ch.get("finish_reason")}
        )
    return {**{k: v for k, v in data.items() if k != "choices"}, "choices": choices}


def _as_delta(index: int, call: dict[str, Any]) -> dict[str, Any]:
    fn = call["function"]
    if isinstance(fn.get("arguments"), dict):  # a stream's arguments are text
        fn = {**fn, "arguments": json.dumps(fn["arguments"])}
    return {"index": index, **call, "function": fn}


class TurnBuilder:
    """Folds stream chunks into a Turn; text is kept as a list of parts, joined once.

    `model` names the upstream in the UpstreamError (502) a malformed chunk raises."""

    def __init__(self, model: str = "") -> None:
        self.model = model
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
        m = self.model
        if chunk.get("usage"):
            t.usage = _object(chunk["usage"], "usage", m)
        if chunk.get("model"):
            t.model = str(chunk["model"])
        if chunk.get("id"):
            t.response_id = str(chunk["id"])
        text = ""
        self.reasoning_delta = ""
        for i, choice in enumerate(_array(chunk.get("choices"), "choices", m)):
            where = f"choices[{i}]"
            choice = _object(choice, where, m)
            delta = _object(choice.get("delta"), f"{where}.delta", m)
            piece = _content(delta.get("content"), f"{where}.delta.content", m)
            if piece:
                self._parts.append(piece)
                text += piece
            thought = delta.get("reasoning") or delta.get("reasoning_content")
            if thought:
                self._reasoning.append(str(thought))
                self.reasoning_delta += str(thought)
            calls = _array(delta.get("tool_calls"), f"{where}.delta.tool_calls", m)
            for j, tc in enumerate(calls):
                self._feed_call(_tool_call(tc, f"{where}.delta.tool_calls[{j}]", m))
            finish = _text(choice.get("finish_reason"), f"{where}.finish_reason", m)
            if finish:
                t.finish_reason = finish
        return text

    def _feed_call(self, tc: dict[str, Any]) -> None:
        idx = tc.get("index")
        if idx is None:
            idx = len(self._calls)
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


# --- The shape of an upstream answer ---------------------------------------------------
# Upstreams are outside our control; each check turns a wrong type into an UpstreamError
# (502) naming the model and the part, rather than a TypeError deep in the tool loop.


def _malformed(model: str, where: str, value: Any, wanted: str) -> UpstreamError:
    prefix = f"{model}: " if model else ""
    return UpstreamError(
        f"{prefix}malformed upstream answer: {where} is {_json_kind(value)}, not {wanted}",
        502,
        model,
    )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value!r:.40})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: Any, where: str, model: str) -> dict[str, Any]:
    """An object, or {} for null/absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _malformed(model, where, value, "an object")
    return value


def _array(value: Any, where: str, model: str) -> list[Any]:
    """An array, or [] for null/absent."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(model, where, value, "an array")
    return value


def _text(value: Any, where: str, model: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _malformed(model, where, value, "a string")


def _content(value: Any, where: str, model: str) -> str:
    """Message content: a string, null, or a list of parts whose text is joined."""
    if isinstance(value, list):
        texts = (
            _text(p.get("text"), f"{where}[{i}].text", model)
            for i, p in enumerate(value)
            if isinstance(p, dict)
        )
        return "".join(t for t in texts if t)
    return _text(value, where, model) or ""


def _tool_call(tc: Any, where: str, model: str, *, whole: bool = False) -> dict[str, Any]:
    """One tool call (`whole`) or a stream's piece of one; the parts the loop reads have
    the types it reads them as."""
    call = _object(tc, where, model)
    if whole and not isinstance(call.get("function"), dict):
        raise _malformed(model, f"{where}.function", call.get("function"), "an object")
    _text(call.get("id"), f"{where}.id", model)
    index = call.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise _malformed(model, f"{where}.index", index, "an integer")
    fn = _object(call.get("function"), f"{where}.function", model)
    _text(fn.get("name"), f"{where}.function.name", model)
    args = fn.get("arguments")
    if not (args is None or isinstance(args, str) or (whole and isinstance(args, dict))):
        raise _malformed(model, f"{where}.function.arguments", args, "a string")
    return call


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


async def run_turn(
    model: ChatModel,
    body: dict[str, Any],
    headers: Mapping[str, str],
    on_text: Callable[[str], None] | None = None,
    on_reasoning: Callable[[str], None] | None = None,
) -> Turn:
    """One call; streams when someone listens for text or reasoning, so progress shows as
    it is written."""
    name = model_name(model)
    if on_text is None and on_reasoning is None:
        return turn_from_response(await model.complete(body, headers), name)
    builder = TurnBuilder(name)
    async for chunk in model.stream(body, headers):
        piece = builder.feed(chunk)
        if on_reasoning is not None and builder.reasoning_delta:
            on_reasoning(builder.reasoning_delta)
        if piece and on_text is not None:
            on_text(piece)
    return builder.finish()


def model_name(model: ChatModel) -> str:
    """The id a model was resolved from, for error messages; the protocol does not require
    one, but the built-in adapters carry it as `model_id`."""
    return str(getattr(model, "model_id", "") or "")
