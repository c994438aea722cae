"""Reading a chat request: the JSON body and Parley's headers, each wrong value a 400 that
names it, before anything is planned, sent upstream or streamed.

Python's json module is more lenient than the wire: it takes `NaN` and `Infinity`, turns
`1e999` into inf (which it would then write out as `Infinity`), refuses an integer past the
int-string limit with a message that names no field, recurses once per nesting level, and
keeps a lone UTF-16 surrogate (`"\\ud800"`) that no UTF-8 encoder writes back out, so it
would fail only later, on its way upstream or half way through a stream. Each of these is a
400 here, naming where the value sits (`model`, `plugins[0]`, `messages[0].content`).

The walk that finds them runs only when a cheap test says it may find something: more
brackets in the raw bytes than the depth limit, a surrogate escape in them, or a number
that did not fit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from parley import _constants as C
from parley.gateway.errors import HTTPError
from parley.validation import shown

# `\ud800`-`\udfff` as a JSON escape. One branch with a literal prefix: re scans for it
# several times faster than for an alternation.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# The lead byte of a surrogate encoded directly, which json.loads lets through: it decodes
# bytes with "surrogatepass".
_SURROGATE_LEAD = b"\xed"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON tokens, for finding where a body too deep for the parser goes too deep.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')

_ERROR = "invalid_json"
# A location in the body: (parent, key or index), built only as deep as the walk goes.
_At = tuple[Any, str | int] | None


class _Unfit:
    """Stands in for a number Python's json accepts but the wire cannot carry, until the
    walk finds where it sits."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def problem(self) -> str:
        if self.text in ("NaN", "Infinity", "-Infinity"):
            return f"{self.text} is not JSON; send a number or null"
        if "." in self.text or "e" in self.text.lower():
            return f"{shown(self.text)} is out of range for a number"
        return f"an integer of {len(self.text.lstrip('-'))} digits is too long"


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it and where."""
    if not raw.strip():
        raise HTTPError(400, "request body is empty; send a JSON object", _ERROR)
    unfit: list[_Unfit] = []

    def keep(value: _Unfit) -> _Unfit:
        unfit.append(value)
        return value

    def integer(text: str) -> int | _Unfit:
        try:
            return int(text)
        except ValueError:  # past Python's int-string limit
            return keep(_Unfit(text))

    def real(text: str) -> float | _Unfit:
        value = float(text)
        return keep(_Unfit(text)) if math.isinf(value) else value

    try:
        data = json.loads(
            raw, parse_int=integer, parse_float=real, parse_constant=lambda t: keep(_Unfit(t))
        )
    except RecursionError:
        raise _too_deep(_deep_path(raw)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPError(400, f"request body is not valid JSON: {exc}", _ERROR) from None
    if not isinstance(data, dict):
        if isinstance(data, _Unfit):
            raise HTTPError(400, f"request body: {data.problem()}", _ERROR)
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(data), "a number")
        if data is None:
            kind = "null"
        raise HTTPError(400, f"request body must be a JSON object, got {kind}", _ERROR)
    deep = raw.count(b"[") + raw.count(b"{") > C.JSON_MAX_DEPTH
    surrogates = (
        _SURROGATE_LEAD in raw
        or _SURROGATE_ESCAPE.search(raw) is not None
        or json.detect_encoding(raw) != "utf-8"
    )
    if deep or surrogates or unfit:
        _check(data, deep=deep, surrogates=surrogates)
    return data


def _check(data: dict[str, Any], *, deep: bool, surrogates: bool) -> None:
    """Walk the body in document order; the first value the wire cannot carry is a 400."""
    stack: list[tuple[Any, int, _At]] = [(data, 1, None)]
    while stack:
        value, level, at = stack.pop()
        if isinstance(value, dict):
            if deep and level > C.JSON_MAX_DEPTH:
                raise _too_deep(at)
            if surrogates and any(_LONE_SURROGATE.search(k) for k in value):
                raise _invalid(at, "has a key that " + _SURROGATE_PROBLEM)
            stack.extend((v, level + 1, (at, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            if deep and level > C.JSON_MAX_DEPTH:
                raise _too_deep(at)
            stack.extend((v, level + 1, (at, i)) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, str):
            if surrogates and _LONE_SURROGATE.search(value):
                raise _invalid(at, _SURROGATE_PROBLEM)
        elif isinstance(value, _Unfit):
            raise _invalid(at, value.problem())


_SURROGATE_PROBLEM = (
    "holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair); "
    "text must be valid Unicode"
)


def _deep_path(raw: bytes) -> _At:
    """Where a body too deep for json.loads first goes past the limit, from its tokens
    (only on that error, so its cost does not matter)."""
    text = raw.decode(json.detect_encoding(raw), "replace")
    # Per open container: its next index (array) or its current key (object).
    open_: list[list[Any]] = []
    expect_key = False
    for match in _TOKEN.finditer(text):
        tok = match.group()
        if tok in ("[", "{"):
            if len(open_) >= C.JSON_MAX_DEPTH:
                break
            open_.append([0] if tok == "[" else [""])
            expect_key = tok == "{"
        elif tok in ("]", "}"):
            if open_:
                open_.pop()
        elif tok == ",":
            if open_ and isinstance(open_[-1][0], int):
                open_[-1][0] += 1
            else:
                expect_key = True
        elif tok.startswith('"') and expect_key and open_:
            open_[-1][0] = json.loads(tok)
            expect_key = False
    at: _At = None
    for (key,) in open_:
        at = (at, key)
    return at


def _path(at: _At, steps: int | None = None) -> str:
    """A location as the request spells it (`plugins[0].analysis_models`), or its first
    `steps` steps."""
    parts: list[str | int] = []
    while at is not None:
        at, key = at
        parts.append(key)
    out = ""
    for part in reversed(parts[-steps:] if steps else parts):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _invalid(at: _At, problem: str) -> HTTPError:
    field = _path(at)
    return HTTPError(400, f"{field or 'the request body'}: {problem}", _ERROR, field or None)


def _too_deep(at: _At) -> HTTPError:
    # The whole path to a value 100 levels down is noise; its first steps say where.
    field = _path(at, steps=4)
    return HTTPError(
        400,
        f"{field or 'the request body'}: nested deeper than {C.JSON_MAX_DEPTH} levels of "
        "arrays and objects",
        _ERROR,
        field or None,
    )


def parse_depth(raw: bytes | None) -> int:
    """The fusion depth header: absent is 0; anything but a short run of ASCII digits is
    a 400 (`str.isdigit` also takes `²`, which int() refuses)."""
    if raw is None:
        return 0
    text = raw.strip()
    if not text.isdigit() or len(text) > C.DEPTH_HEADER_MAX_DIGITS:  # bytes: ASCII only
        raise HTTPError(
            400,
            f"header {C.DEPTH_HEADER} must be a non-negative integer of at most "
            f"{C.DEPTH_HEADER_MAX_DIGITS} digits, got {shown(raw.decode('latin-1'))}",
            "invalid_header",
            C.DEPTH_HEADER,
        )
    return int(text)
