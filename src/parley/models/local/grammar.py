"""JSON Schema -> a compact GBNF grammar for llama.cpp's constrained sampling.

Why our own converter: the generic one (llama-cpp-python's `json_schema_to_gbnf`) lets
strings hold raw control characters (invalid JSON) and leaves lengths unbounded, so a tiny
model can loop inside one string until the token budget runs out. Ours covers the subset
structured outputs use (objects with fixed keys, arrays, strings, numbers, booleans, null,
enum/const, anyOf) with:

- keys in schema order, every property present (strict structured-output semantics);
- strings of printable characters and simple escapes only, at most `max_string` long;
- arrays of at most `max_items` items;
- at most one space between tokens, which keeps the grammar's parse stacks few.

Anything outside the subset returns None, and the caller falls back to the generic one.
Speed comes from how the grammar is applied (see local_sampling), not from the grammar alone.
"""

from __future__ import annotations

import json
from typing import Any

MAX_STRING = 240
MAX_ITEMS = 3

_BASE_RULES = {
    "ws": '" "?',
    "char": '[^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\/bfnrt]',
    "integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": 'integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?',
    "boolean": '"true" | "false"',
    "null": '"null"',
}


def _lit(value: Any) -> str:
    """A GBNF string literal matching the JSON encoding of `value`."""
    return json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False)


class _Builder:
    def __init__(self, max_string: int, max_items: int) -> None:
        self.rules: dict[str, str] = {}
        self.max_string = max_string
        self.max_items = max_items
        self._used: set[str] = set()

    def base(self, name: str) -> str:
        self._used.add(name)
        if name == "number":
            self._used.add("integer")
        return name

    def add(self, hint: str, body: str) -> str:
        for name, existing in self.rules.items():
            if existing == body:
                return name
        name, n = hint, 1
        while name in self.rules or name in _BASE_RULES:
            n += 1
            name = f"{hint}{n}"
        self.rules[name] = body
        return name

    def string(self, schema: dict[str, Any]) -> str:
        hi = min(int(schema.get("maxLength", self.max_string)), self.max_string)
        lo = min(int(schema.get("minLength", 0)), hi)
        self.base("char")
        return self.add(f"str{hi}", f'"\\"" char{{{lo},{hi}}} "\\""')

    def value(self, schema: Any, hint: str) -> str | None:
        if schema is True or schema == {}:
            return self.any_value()
        if not isinstance(schema, dict):
            return None
        if "const" in schema:
            return _lit(schema["const"])
        if "enum" in schema:
            return "(" + " | ".join(_lit(v) for v in schema["enum"]) + ")"
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            parts = [self.value(o, hint) for o in options]
            return None if None in parts else "(" + " | ".join(p for p in parts if p) + ")"
        kind = schema.get("type")
        if isinstance(kind, list):
            parts = [self.value({**schema, "type": k}, hint) for k in kind]
            return None if None in parts else "(" + " | ".join(p for p in parts if p) + ")"
        if kind == "object":
            return self.obj(schema, hint)
        if kind == "array":
            return self.array(schema, hint)
        if kind == "string":
            return None if {"pattern", "format"} & set(schema) else self.string(schema)
        if kind in ("integer", "number", "boolean", "null"):
            return self.base(kind)
        return None

    def obj(self, schema: dict[str, Any], hint: str) -> str | None:
        props: dict[str, Any] = schema.get("properties") or {}
        if not props:
            return (
                self.add("object", self._any_object())
                if schema.get("additionalProperties", True)
                else '"{" ws "}"'
            )
        if schema.get("additionalProperties", False) not in (False, None) and set(
            schema.get("required", [])
        ) != set(props):
            return None  # free-form keys next to fixed ones: leave it to the generic converter
        fields = []
        for key, sub in props.items():
            value = self.value(sub, f"{hint}-{key}".replace("_", "-"))
            if value is None:
                return None
            fields.append(f'{_lit(key)} ws ":" ws {value}')
        body = '"{" ws ' + ' ws "," ws '.join(fields) + ' ws "}"'
        return self.add(hint, body)

    def array(self, schema: dict[str, Any], hint: str) -> str | None:
        item = self.value(schema.get("items", {}), f"{hint}-item")
        if item is None:
            return None
        hi = max(1, min(int(schema.get("maxItems", self.max_items)), self.max_items))
        lo = min(int(schema.get("minItems", 0)), hi)
        more = f'(ws "," ws {item}){{{max(lo - 1, 0)},{hi - 1}}}'
        inner = f"{item} {more} ws"
        body = f'"[" ws {inner} "]"' if lo > 0 else f'"[" ws ({inner})? "]"'
        return self.add(hint, body)

    def _any_object(self) -> str:
        self.any_value()
        return '"{" ws (any-member (ws "," ws any-member){0,15} ws)? "}"'

    def any_value(self) -> str:
        if "any" not in self.rules:
            self.rules["any"] = "any-object | any-array | any-string | number | boolean | null"
            for name in ("number", "boolean", "null", "char"):
                self.base(name)
            self.rules["any-string"] = f'"\\"" char{{0,{self.max_string}}} "\\""'
            self.rules["any-member"] = 'any-string ws ":" ws any'
            self.rules["any-object"] = '"{" ws (any-member (ws "," ws any-member){0,15} ws)? "}"'
            self.rules["any-array"] = (
                f'"[" ws (any (ws "," ws any){{0,{self.max_items - 1}}} ws)? "]"'
            )
        return "any"

    def render(self, root: str) -> str:
        lines = [f"root ::= {root}"]
        lines += [f"{k} ::= {v}" for k, v in self.rules.items()]
        used = set(self._used) | {"ws"}
        lines += [f"{k} ::= {_BASE_RULES[k]}" for k in _BASE_RULES if k in used]
        return "\n".join(lines) + "\n"


def schema_to_gbnf(
    schema: Any, *, max_string: int = MAX_STRING, max_items: int = MAX_ITEMS
) -> str | None:
    """A compact grammar for `schema`, or None when the schema is outside the subset."""
    b = _Builder(max_string, max_items)
    if isinstance(schema, dict) and schema.get("type") is None and not schema:
        root: str | None = '"{" ws (any-member (ws "," ws any-member){0,15} ws)? "}"'
        b.any_value()
    else:
        root = b.value(schema, "value")
    return None if root is None else b.render(root)


def grammar_for(schema: Any) -> str:
    """The grammar for a response_format schema: ours when we can, else the generic one."""
    compact = schema_to_gbnf(schema)
    if compact is not None:
        return compact
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(json.dumps(schema)))
