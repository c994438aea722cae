"""Chat messages -> one prompt string for a local model.

Chat models use the Jinja chat template stored in their GGUF file (rendered in a sandbox,
as Hugging Face does). Base models, which have no template, get a plain "User:/Assistant:"
transcript with one worked example, so they answer once and then stop at the next "User:".
Tool traffic is folded into ordinary turns: small local models were not trained on it.
"""

from __future__ import annotations

import json
from typing import Any

from parley.models.local.batch import ModelInfo, Rendered

PLAIN_STOPS = ("\nUser:", "\nAssistant:", "\n\n\n")
_PLAIN_PREAMBLE = (
    "The following is a conversation with a helpful, knowledgeable assistant that answers "
    "questions clearly and accurately in a few sentences."
)
_PLAIN_EXAMPLE = (
    "User: Why do leaves change colour in autumn?\n"
    "Assistant: As days shorten, trees stop making chlorophyll, the green pigment. As it "
    "breaks down, yellow and orange pigments that were there all along show through, and "
    "some trees also make red anthocyanins.\n\n"
)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return "" if content is None else str(content)


def normalize(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Roles limited to system/user/assistant, tool results as user turns, same roles merged."""
    names: dict[str, str] = {}
    out: list[dict[str, str]] = []
    asked = ""  # the user's own last request, restated after tool results
    folded = False
    for m in messages:
        role = str(m.get("role", "user"))
        text = _text(m.get("content"))
        for call in m.get("tool_calls") or []:
            names[str(call.get("id", ""))] = str((call.get("function") or {}).get("name", "tool"))
        if role == "developer":
            role = "system"
        elif role == "tool":
            name = names.get(str(m.get("tool_call_id", "")), "tool")
            role, text = "user", f"Result of the {name} tool:\n{_readable(text)}"
            folded = True
        elif role == "user" and text.strip():
            asked, folded = text.strip(), False
        elif role not in ("system", "user", "assistant"):
            role = "user"
        if not text.strip():
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + text
        else:
            out.append({"role": role, "content": text})
    if folded and asked and out and out[-1]["role"] == "user":
        # Small models lose the question behind a long tool result; say it again last.
        out[-1]["content"] += f"\n\nUsing the result above, answer this request: {asked}"
    if not out or out[-1]["role"] != "user":
        out.append({"role": "user", "content": "Continue."})
    return out


def _readable(text: str) -> str:
    """JSON tool results as an indented outline: small models read it better than JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return "\n".join(_outline(data, 0)) if isinstance(data, dict | list) else text


def _outline(value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list):
                lines += [f"{pad}{k}:", *_outline(v, depth + 1)] if v else [f"{pad}{k}: none"]
            else:
                lines.append(f"{pad}{k}: {v}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                sub = _outline(item, depth + 1)
                lines += [f"{pad}- {sub[0].lstrip()}", *sub[1:]]
            else:
                lines.append(f"{pad}- {item}")
    else:
        lines.append(f"{pad}{value}")
    return lines


def render_chat(messages: list[dict[str, Any]], info: ModelInfo) -> Rendered:
    """The GGUF's own chat template, falling back to the plain transcript if it fails."""
    msgs = normalize(messages)
    if not info.chat_template:
        return render_plain(messages)
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    try:
        text = env.from_string(info.chat_template).render(
            messages=msgs, add_generation_prompt=True, bos_token=info.bos, eos_token=info.eos
        )
    except Exception:
        return render_plain(messages)
    # A template that writes the BOS token itself must not get a second one from the tokenizer.
    return Rendered(text, add_special=not (info.bos and text.startswith(info.bos)))


def render_plain(messages: list[dict[str, Any]]) -> Rendered:
    """A completion prompt for base models."""
    msgs = normalize(messages)
    system = "\n".join(m["content"] for m in msgs if m["role"] == "system")
    parts = [(system or _PLAIN_PREAMBLE) + "\n\n", _PLAIN_EXAMPLE]
    for m in msgs:
        if m["role"] == "user":
            parts.append(f"User: {m['content'].strip()}\n")
        elif m["role"] == "assistant":
            parts.append(f"Assistant: {m['content'].strip()}\n\n")
    parts.append("Assistant:")
    return Rendered("".join(parts), add_special=True, parse_special=False)
