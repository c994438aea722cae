"""Follow JSON as it is generated, know when it is complete, and close it if cut short.

Grammar-constrained decoding makes every prefix valid, but a token budget can still end the
output half way. `JsonTracker.closing()` returns the shortest text that completes the
prefix into a document the schema accepts (missing required keys get minimal values), so
constrained output is valid by construction even when truncated.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

_WS = " \t\r\n"


def minimal(schema: Any) -> Any:
    """The smallest value `schema` accepts (for the subset our grammars produce)."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return minimal(options[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: minimal(props.get(k, {})) for k in _required(schema)}
    if kind == "array":
        return [minimal(schema.get("items", {})) for _ in range(int(schema.get("minItems", 0)))]
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def _required(schema: dict[str, Any]) -> list[str]:
    props = list((schema.get("properties") or {}).keys())
    # Our grammars emit every property; strict schemas require them all anyway.
    return props or list(schema.get("required", []))


@dataclass
class _Frame:
    kind: str  # "obj", "arr", "str", "lit"
    schema: Any = None
    state: str = ""  # obj: key?/key/colon/value/next; arr: value?/value/next
    keys: list[str] = field(default_factory=list)
    key: str = ""
    is_key: bool = False
    escape: bool = False
    text: str = ""
    count: int = 0


class JsonTracker:
    """An incremental, lenient JSON reader that keeps only what closing needs."""

    def __init__(self, schema: Any = None) -> None:
        self.schema = schema
        self.stack: list[_Frame] = []
        self.done = False
        self.started = False

    @property
    def complete(self) -> bool:
        """True once the top-level value has ended."""
        return self.done

    def feed(self, text: str) -> None:
        for ch in text:
            if self.done:
                return
            self._char(ch)

    def _value_schema(self) -> Any:
        if not self.stack:
            return self.schema
        top = self.stack[-1]
        if top.kind == "obj":
            props = (top.schema or {}).get("properties", {}) if isinstance(top.schema, dict) else {}
            return props.get(top.key, {})
        if top.kind == "arr":
            return top.schema.get("items", {}) if isinstance(top.schema, dict) else {}
        return {}

    def _start_value(self, ch: str) -> None:
        schema = self._value_schema()
        self.started = True
        if ch == "{":
            self.stack.append(_Frame("obj", schema, "key?"))
        elif ch == "[":
            self.stack.append(_Frame("arr", schema, "value?"))
        elif ch == '"':
            self.stack.append(_Frame("str"))
        else:
            self.stack.append(_Frame("lit", text=ch))

    def _ended(self) -> None:
        """A value just ended: advance the container that held it."""
        if not self.stack:
            self.done = True
            return
        top = self.stack[-1]
        if top.kind == "obj":
            top.keys.append(top.key)
            top.state = "next"
        elif top.kind == "arr":
            top.count += 1
            top.state = "next"

    def _char(self, ch: str) -> None:
        top = self.stack[-1] if self.stack else None
        if top is None:
            if ch not in _WS:
                self._start_value(ch)
            return
        if top.kind == "str":
            if top.escape:
                top.escape = False
            elif ch == "\\":
                top.escape = True
            elif ch == '"':
                self.stack.pop()
                if top.is_key:
                    parent = self.stack[-1]
                    parent.key = json.loads('"' + top.text + '"') if top.text else ""
                    parent.state = "colon"
                else:
                    self._ended()
                return
            top.text += ch
            return
        if top.kind == "lit":
            if ch in ",]}" or ch in _WS:
                self.stack.pop()
                self._ended()
                self._char(ch)
            else:
                top.text += ch
            return
        if ch in _WS:
            return
        if top.kind == "obj":
            if top.state in ("key?", "key") and ch == '"':
                self.stack.append(_Frame("str", is_key=True))
            elif top.state in ("key?", "next") and ch == "}":
                self.stack.pop()
                self._ended()
            elif top.state == "next" and ch == ",":
                top.state = "key"
            elif top.state == "colon" and ch == ":":
                top.state = "value"
            elif top.state == "value":
                self._start_value(ch)
            return
        if top.kind == "arr":
            if top.state in ("value?", "next") and ch == "]":
                self.stack.pop()
                self._ended()
            elif top.state == "next" and ch == ",":
                top.state = "value"
            elif top.state in ("value?", "value"):
                self._start_value(ch)

    def _next_text(self) -> str:
        """One step of the shortest completion, decided by the innermost open value."""
        if not self.stack:
            return json.dumps(minimal(self.schema))
        top = self.stack[-1]
        if top.kind == "str":
            return ("\\" if top.escape else "") + '"'
        if top.kind == "lit":
            return _finish_literal(top.text) + " "
        if top.kind == "arr":
            if top.state == "value":
                return json.dumps(minimal(self._value_schema()))
            return "]"
        missing = [k for k in _required(top.schema or {}) if k not in top.keys and k != top.key]
        if top.state == "colon":
            return ": " + json.dumps(minimal(self._value_schema()))
        if top.state == "value":
            return json.dumps(minimal(self._value_schema()))
        if top.state == "key":
            key = missing[0] if missing else "_"
            return json.dumps(key) + ": " + json.dumps(minimal(self._props(top).get(key, {})))
        if missing:
            sep = ", " if top.state == "next" else ""
            return sep + json.dumps(missing[0])
        return "}"

    @staticmethod
    def _props(frame: _Frame) -> dict[str, Any]:
        return (frame.schema or {}).get("properties", {}) if isinstance(frame.schema, dict) else {}

    def closing(self) -> str:
        """The text that completes what was fed so far ("" if already complete)."""
        probe = copy.deepcopy(self)
        out: list[str] = []
        for _ in range(10_000):
            if probe.done:
                break
            step = probe._next_text()
            out.append(step)
            probe.feed(step)
        return "".join(out).rstrip() if not self.done else ""


def _finish_literal(text: str) -> str:
    for word in ("true", "false", "null"):
        if word.startswith(text):
            return word[len(text) :]
    if text[-1:] in ("-", "+", ".", "e", "E"):
        return "0"
    return ""
