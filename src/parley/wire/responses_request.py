"""A Responses API request as a client sends it (OpenRouter's, stateless), translated into
the engine's Request: the input items become a conversation, the tools become Chat
Completions function tools and server-tool specs, and the sampling fields the outer model
takes.

Stateless, as OpenRouter's is: `store: true` and `previous_response_id` are refused with a
400 that says to send the history in `input`. Everything an agent sends besides (`include`,
`client_metadata`, `developer` messages, `reasoning`, `parallel_tool_calls`, tool types
Parley does not run) is accepted; fields only the Responses API knows are not passed to a
Chat Completions upstream, every other unknown field is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from parley import _constants as C
from parley.engine.request import Request
from parley.errors import InvalidParameter
from parley.tools.registry import is_server_tool_type
from parley.validation import Passthrough, parse_or_raise
from parley.wire.chat_request import stop_conditions

# OpenAI's hosted tool types that mean Parley's own web_search.
WEB_SEARCH_TYPES = frozenset({"web_search", "web_search_preview", "web_search_preview_2025_03_11"})
# Fields of the Responses API with no Chat Completions meaning: read here or dropped.
RESPONSES_ONLY = frozenset(
    {
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "plugins",
        "stream",
        "store",
        "previous_response_id",
        "max_output_tokens",
        "reasoning",
        "text",
        "metadata",
        "include",
        "client_metadata",
        "truncation",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "context_management",
        "conversation",
        "background",
        "safety_identifier",
        "top_logprobs",
        "max_tool_calls",
        "stop_server_tools_when",
        "model",
    }
)


class ResponsesRequest(Passthrough):
    """The fields Parley reads; every other one is kept."""

    model: str | None = None
    input: str | list[Any]
    instructions: str | list[Any] | None = None
    tools: list[Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
    plugins: list[Any] | None = None
    stream: bool = False
    store: bool | None = None
    previous_response_id: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1, strict=True)
    max_tool_calls: int | None = Field(
        default=None, ge=1, le=C.OUTER_MAX_TOOL_CALLS_MAX, strict=True
    )
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_server_tools_when: list[dict[str, Any]] | None = None


@dataclass
class Translated:
    """The engine's Request, and what the response echoes of what was asked."""

    request: Request
    echo: ResponsesRequest
    notes: list[str] = field(default_factory=list)


def to_request(raw: dict[str, Any]) -> Translated:
    """A client's Responses body as the engine's Request (a 400 naming the field when it
    cannot be one)."""
    req = parse_or_raise(ResponsesRequest, raw, "")
    if req.store:
        raise InvalidParameter(
            "store",
            "this server keeps no responses; leave `store` false and send the whole "
            "conversation in `input`",
        )
    if req.previous_response_id:
        raise InvalidParameter(
            "previous_response_id",
            "this server keeps no responses to continue from; send the earlier turns "
            "(including the output items you received) in `input` instead",
        )
    notes: list[str] = []
    messages = conversation(req.input, req.instructions)
    if not messages:
        raise InvalidParameter("input", "must hold at least one message")
    translated = (_tool(t, i, notes) for i, t in enumerate(req.tools or []))
    tools = [t for t in translated if t is not None]
    body = {k: v for k, v in raw.items() if k not in RESPONSES_ONLY}
    if req.max_output_tokens is not None:
        body["max_completion_tokens"] = req.max_output_tokens
    if req.reasoning:
        effort = req.reasoning.get("effort")
        if effort:
            body["reasoning"] = {"effort": effort}
    fmt = _response_format(req.text)
    if fmt is not None:
        body["response_format"] = fmt
    stop = req.stop_server_tools_when
    return Translated(
        Request(
            model=req.model,
            messages=messages,
            tools=tools,
            tool_choice=_tool_choice(req.tool_choice),
            plugins=list(req.plugins or []),
            max_tool_calls=req.max_tool_calls,
            stop_server_tools_when=stop_conditions(stop) if stop is not None else None,
            stream=req.stream,
            body=body,
        ),
        req,
        notes,
    )


def conversation(
    items: str | list[Any], instructions: str | list[Any] | None
) -> list[dict[str, Any]]:
    """The input as a Chat Completions conversation."""
    out: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        out += conversation(instructions, None)
    if isinstance(items, str):
        return [*out, {"role": "user", "content": items}]
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidParameter(where, "must be an object (a message or an output item)")
        _append(out, item, where)
    return out


def _append(out: list[dict[str, Any]], item: dict[str, Any], where: str) -> None:
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise InvalidParameter(f"{where}.role", "must be user, assistant, system or developer")
        content = _content(item.get("content"), f"{where}.content")
        out.append({"role": "system" if role == "developer" else role, "content": content})
    elif kind == "function_call":
        call = {
            "id": _text(item, "call_id", where),
            "type": "function",
            "function": {
                "name": _text(item, "name", where),
                "arguments": item.get("arguments") or "{}",
            },
        }
        last = out[-1] if out else None
        if last and last.get("role") == "assistant" and last.get("tool_calls") is not None:
            last["tool_calls"].append(call)  # parallel calls of one turn
        else:
            out.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else _joined_text(output)
        out.append({"role": "tool", "tool_call_id": _text(item, "call_id", where), "content": text})
    elif isinstance(kind, str) and kind.endswith(":fusion"):
        # An earlier turn's deliberation, sent back as context (agents replay their items).
        keep = {
            k: item[k] for k in ("status", "analysis", "responses", "failed_models") if k in item
        }
        out.append(
            {
                "role": "assistant",
                "content": "Fusion result from an earlier turn: " + json.dumps(keep),
            }
        )
    elif kind == "item_reference":
        raise InvalidParameter(
            where, "this server keeps no items to refer to; send the item itself in `input`"
        )
    # Reasoning items, other server tools' records and kinds Parley does not know carry
    # nothing a Chat Completions model can read: they are left out.


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"{where}.{key}", "must be a non-empty string")
    return value


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    """Message content: text, or Chat Completions parts for text, images and files."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidParameter(where, "must be a string or a list of content parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        at = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal") or "")})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                raise InvalidParameter(
                    f"{at}.image_url",
                    "give the image as a URL or a data: URL (file ids need storage)",
                )
            image: dict[str, Any] = {"url": url}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            data = {k: part[k] for k in ("file_data", "filename", "file_id") if part.get(k)}
            parts.append({"type": "file", "file": data})
        else:
            raise InvalidParameter(f"{at}.type", f"unknown content part type {kind!r}")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _joined_text(output: Any) -> str:
    if isinstance(output, list):
        return "".join(
            str(p.get("text") or "") for p in output if isinstance(p, dict) and "text" in p
        )
    return "" if output is None else json.dumps(output)


def _tool(tool: Any, i: int, notes: list[str]) -> dict[str, Any] | None:
    """A Responses tool as Chat Completions has it (or a server-tool spec); None for a
    hosted tool Parley does not run, with a note saying so."""
    where = f"tools[{i}]"
    if not isinstance(tool, dict):
        raise InvalidParameter(where, "must be an object")
    kind = str(tool.get("type", ""))
    if kind == "function":
        fn = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise InvalidParameter(f"{where}.name", "a function tool needs a name")
        return {"type": "function", "function": fn}
    if is_server_tool_type(kind):
        return tool
    if kind in WEB_SEARCH_TYPES:
        params = {k: v for k, v in tool.items() if k != "type"}
        return {"type": "parley:web_search", "parameters": _web_search_params(params)}
    notes.append(f"tools[{i}]: the tool type {kind!r} is not run by this server; it was left out")
    return None


def _web_search_params(hosted: dict[str, Any]) -> dict[str, Any]:
    # OpenAI's hosted tool spells its domain filter `filters.allowed_domains`.
    filters = hosted.get("filters")
    if isinstance(filters, dict) and isinstance(filters.get("allowed_domains"), list):
        return {"allowed_domains": filters["allowed_domains"]}
    return {}


def _tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """Responses spells a forced function `{type: function, name}`; Chat Completions
    `{type: function, function: {name}}`."""
    if not isinstance(choice, dict):
        return choice
    kind = str(choice.get("type", ""))
    if kind == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    if kind in WEB_SEARCH_TYPES:
        return {"type": "parley:web_search"}
    return choice


def _response_format(text: dict[str, Any] | None) -> dict[str, Any] | None:
    fmt = (text or {}).get("format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None
