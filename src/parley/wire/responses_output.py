"""The Responses API as Parley answers: the `response` object and its output items, built
here and nowhere else, for the whole answer and for every snapshot a stream sends.

Strict clients validate every field (OpenRouter's SDK most of all): the object carries
`completed_at`, the penalties, `error` and `incomplete_details` (null when not needed),
usage details as objects, and a `tool_choice` in a spelling every SDK knows (a forced
server tool echoes as "required"). Items are in the order they started: usually the
fusion item, any other server tool, the client's function calls, then the message.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from parley.fusion.result import FusionResult
from parley.models.base import Source, ToolCall
from parley.usage import Usage
from parley.wire.responses_request import ResponsesRequest


def new_id(prefix: str) -> str:
    """An id in OpenAI's spelling: `resp_...`, `msg_...`, `fc_...`, `st_...`."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def usage(u: Usage) -> dict[str, Any]:
    """Usage summed over every inner call, in the Responses shape."""
    out: dict[str, Any] = {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": u.cached_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
    }
    if u.cost is not None:
        out["cost"] = round(u.cost, 10)
    wire = u.to_wire()
    out["server_tool_use_details"] = wire["server_tool_use_details"]
    return out


def fusion_item(item_id: str, result: FusionResult | None) -> dict[str, Any]:
    """The `openrouter:fusion` item: in progress until its result is known.

    `content: []` is not in OpenRouter's schema; it keeps agent frameworks that read every
    item as a message (the OpenAI Agents SDK) from failing on it.
    """
    if result is None:
        return {"id": item_id, "type": "openrouter:fusion", "status": "in_progress", "content": []}
    wire = result.to_wire()
    wire.pop("status")
    status = "completed" if result.status == "ok" else "incomplete"
    return {"id": item_id, "type": "openrouter:fusion", "status": status, "content": [], **wire}


def fusion_item_unrun(item_id: str, output: str) -> dict[str, Any]:
    """A fusion call that ended without deliberating (a second call in the same turn, a
    call with no question): incomplete, with the `error` and `failure_reason` the outer
    model was told."""
    item: dict[str, Any] = {
        "id": item_id,
        "type": "openrouter:fusion",
        "status": "incomplete",
        "content": [],
    }
    told = _object(output)
    for key in ("error", "failure_reason"):
        if _str(told.get(key)):
            item[key] = told[key]
    return item


def server_tool_item(
    item_id: str, name: str, arguments: dict[str, Any], status: str, output: str = ""
) -> dict[str, Any]:
    """Another server tool's call (`openrouter:web_search`, `openrouter:web_fetch`,
    `openrouter:datetime`, ...), from its arguments and, once it ran, the `output` the
    model read.

    Each type carries the fields OpenRouter's schema for it requires: its SDK reads an
    item that misses one (or types one otherwise) as UNKNOWN. `content` is there for the
    OpenAI Agents SDK (see `fusion_item`), as a string where OpenRouter types it so.
    """
    item: dict[str, Any] = {
        "id": item_id,
        "type": f"openrouter:{name}",
        "status": status,
        "arguments": json.dumps(arguments, ensure_ascii=False),
        "content": [],
    }
    result = _object(output)
    if isinstance(result.get("error"), str):
        item["error"] = result["error"]
    if name == "web_search" and isinstance(arguments.get("query"), str):
        action: dict[str, Any] = {"type": "search", "query": arguments["query"]}
        hits = result.get("results")
        urls = [h["url"] for h in hits or [] if isinstance(h, dict) and _str(h.get("url"))]
        if urls:
            action["sources"] = [{"type": "url", "url": u} for u in urls]
        item["action"] = action
    elif name == "web_fetch":
        for key, value in (("url", arguments.get("url")), *result.items()):
            if key in ("url", "title") and _str(value):
                item[key] = value
        # The page's text is the model's to read; a long page is not echoed to the client.
        item["content"] = ""
    elif name == "datetime":
        # Both required as strings; empty until the tool has told the time.
        item["datetime"] = result["datetime"] if _str(result.get("datetime")) else ""
        zone = result.get("timezone", arguments.get("timezone"))
        item["timezone"] = zone if _str(zone) else ""
    return item


def _object(text: str) -> dict[str, Any]:
    """A tool's JSON output as an object ({} for anything else)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def function_call_item(item_id: str, call: ToolCall, status: str) -> dict[str, Any]:
    """A call to one of the client's own functions."""
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments if status == "completed" else "",
        "status": status,
    }


def output_text(text: str, sources: list[Source]) -> dict[str, Any]:
    return {
        "type": "output_text",
        "text": text,
        "annotations": citations(text, sources),
        "logprobs": [],
    }


def message_item(
    item_id: str, text: str | None, status: str, sources: list[Source]
) -> dict[str, Any]:
    """The answer: one `output_text` part (none while nothing was written)."""
    content = [] if text is None else [output_text(text, sources)]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def citations(text: str, sources: list[Source]) -> list[dict[str, Any]]:
    """`url_citation` annotations for the sources the answer cites (names by URL)."""
    out: list[dict[str, Any]] = []
    for s in sources:
        start = text.find(s.url)
        if start == -1:
            continue
        out.append(
            {
                "type": "url_citation",
                "start_index": start,
                "end_index": start + len(s.url),
                "url": s.url,
                "title": s.title,
            }
        )
    return sorted(out, key=lambda a: a["start_index"])


def echo_tool_choice(choice: Any) -> Any:
    """The tool_choice as every SDK can read it: a forced server tool is "required"."""
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return choice
    return "required"


@dataclass
class ResponseShape:
    """What every snapshot of one response shares: its id, when it began, the model, and
    what it echoes of the request."""

    model: str
    echo: ResponsesRequest
    notes: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))

    def snapshot(
        self,
        status: str,
        output: list[dict[str, Any]],
        *,
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        incomplete: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The response object as it stands."""
        e = self.echo
        done = status in ("completed", "incomplete", "failed")
        out: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "completed_at": int(time.time()) if done else None,
            "status": status,
            "model": self.model,
            "output": output,
            "output_text": _output_text(output),
            "error": error,
            "incomplete_details": incomplete,
            "instructions": e.instructions if isinstance(e.instructions, str) else None,
            "metadata": {str(k): str(v) for k, v in (e.metadata or {}).items()},
            "temperature": e.temperature,
            "top_p": e.top_p,
            "presence_penalty": _number(e, "presence_penalty"),
            "frequency_penalty": _number(e, "frequency_penalty"),
            "parallel_tool_calls": True if e.parallel_tool_calls is None else e.parallel_tool_calls,
            "tool_choice": echo_tool_choice(e.tool_choice),
            "tools": list(e.tools or []),
            "max_output_tokens": e.max_output_tokens,
            "reasoning": e.reasoning,
            "text": e.text or {"format": {"type": "text"}},
            "store": False,
            "truncation": "disabled",
            "usage": usage,
        }
        if self.notes:
            out["notes"] = list(self.notes)  # Parley's: tools it did not run, and why
        return out


def _number(echo: ResponsesRequest, name: str) -> float | None:
    value = (echo.model_extra or {}).get(name)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _output_text(output: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content", [])
        if part.get("type") == "output_text"
    )
