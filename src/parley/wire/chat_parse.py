"""Reading an upstream's Chat Completions answer into the engine's types: a whole response
into a `Turn`, each stream chunk into a `Delta`.

Upstreams are outside our control; a shape the protocol does not allow (`choices: 5`, a
message that is a string, arguments that are a number) is an UpstreamError with status
502 naming the model and the malformed part, rather than a TypeError deep in the loop.
"""

from __future__ import annotations

import json
from typing import Any

from parley.errors import UpstreamError
from parley.models.base import Delta, Source, ToolCall, ToolCallDelta, Turn


def turn_from_response(data: dict[str, Any], model: str = "") -> Turn:
    """The Turn in a non-streaming response (its first choice)."""
    choices = _array(data.get("choices"), "choices", model)
    choice = _object(choices[0], "choices[0]", model) if choices else {}
    msg = _object(choice.get("message"), "choices[0].message", model)
    calls = _array(msg.get("tool_calls"), "choices[0].message.tool_calls", model)
    return Turn(
        content=_content(msg.get("content"), "choices[0].message.content", model),
        tool_calls=[
            _whole_call(tc, f"choices[0].message.tool_calls[{i}]", model, i)
            for i, tc in enumerate(calls)
        ],
        finish_reason=_text(choice.get("finish_reason"), "choices[0].finish_reason", model),
        usage=_object(data.get("usage"), "usage", model) if data.get("usage") else None,
        model=str(data.get("model") or ""),
        reasoning=_reasoning(msg),
        response_id=str(data.get("id") or ""),
        citations=_citations(msg.get("annotations")),
    )


def delta_from_chunk(chunk: dict[str, Any], model: str = "") -> Delta:
    """One stream chunk as a Delta (the first choice's; the usage chunk has none)."""
    text = reasoning = ""
    calls: list[ToolCallDelta] = []
    finish: str | None = None
    cited: list[Source] = []
    for i, choice in enumerate(_array(chunk.get("choices"), "choices", model)):
        where = f"choices[{i}]"
        choice = _object(choice, where, model)
        delta = _object(choice.get("delta"), f"{where}.delta", model)
        text += _content(delta.get("content"), f"{where}.delta.content", model)
        reasoning += _reasoning(delta)
        for j, tc in enumerate(_array(delta.get("tool_calls"), f"{where}.delta.tool_calls", model)):
            calls.append(_call_piece(tc, f"{where}.delta.tool_calls[{j}]", model, j))
        finish = _text(choice.get("finish_reason"), f"{where}.finish_reason", model) or finish
        cited += _citations(delta.get("annotations"))
    return Delta(
        text=text,
        reasoning=reasoning,
        tool_calls=tuple(calls),
        finish_reason=finish,
        usage=_object(chunk.get("usage"), "usage", model) if chunk.get("usage") else None,
        model=str(chunk.get("model") or ""),
        response_id=str(chunk.get("id") or ""),
        citations=tuple(cited),
    )


def _citations(annotations: Any) -> list[Source]:
    """The pages a provider's own web search cited (OpenRouter's `url_citation`
    annotations); anything else in the list is not ours to read, and skipped."""
    out: list[Source] = []
    for a in annotations if isinstance(annotations, list) else []:
        cite = a.get("url_citation") if isinstance(a, dict) else None
        if isinstance(cite, dict) and isinstance(cite.get("url"), str):
            title = cite.get("title")
            out.append(Source(url=cite["url"], title=title if isinstance(title, str) else ""))
    return out


def _reasoning(msg: dict[str, Any]) -> str:
    # OpenRouter's `reasoning`, or the `reasoning_content` of DeepSeek, vLLM and llama.cpp.
    value = msg.get("reasoning") or msg.get("reasoning_content")
    return value if isinstance(value, str) else ""


def _whole_call(tc: Any, where: str, model: str, index: int) -> ToolCall:
    call = _object(tc, where, model)
    fn = call.get("function")
    if not isinstance(fn, dict):
        raise _malformed(model, f"{where}.function", fn, "an object")
    args = fn.get("arguments")
    if isinstance(args, dict):  # some servers send an object where the protocol has text
        args = json.dumps(args)
    elif not (args is None or isinstance(args, str)):
        raise _malformed(model, f"{where}.function.arguments", args, "a string")
    return ToolCall(
        _text(call.get("id"), f"{where}.id", model) or f"call_{index}",
        _text(fn.get("name"), f"{where}.function.name", model) or "",
        args or "{}",
    )


def _call_piece(tc: Any, where: str, model: str, position: int) -> ToolCallDelta:
    call = _object(tc, where, model)
    index = call.get("index", position)
    if isinstance(index, bool) or not isinstance(index, int):
        raise _malformed(model, f"{where}.index", index, "an integer")
    fn = _object(call.get("function"), f"{where}.function", model)
    return ToolCallDelta(
        index,
        _text(call.get("id"), f"{where}.id", model) or "",
        _text(fn.get("name"), f"{where}.function.name", model) or "",
        _text(fn.get("arguments"), f"{where}.function.arguments", model) or "",
    )


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
