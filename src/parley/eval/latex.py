"""LaTeX answers (MATH): the last \\boxed{} of a text, and a normal form for comparing two
answers as strings. String comparison only: equivalent forms that are written differently
(`0.5` and `\\frac{1}{2}`, `x+1` and `1+x`) are counted as different."""

from __future__ import annotations

import re

_DROP = (
    r"\left",
    r"\right",
    r"\!",
    r"\,",
    r"\;",
    r"\:",
    r"\ ",
    "$",
    r"^\circ",
    r"^{\circ}",
    r"\%",
    "%",
)


def last_boxed(text: str) -> str | None:
    """The contents of the last `\\boxed{...}` (or `\\fbox{...}`), braces matched."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth, begin = 1, i
    while i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin:i].strip()
        i += 1
    return None


def normalise_latex(text: str) -> str:
    """Spacing, sizing and decoration removed, so `\\left( 3, \\dfrac{\\pi}{2} \\right)`
    and `(3,\\frac{\\pi}{2})` compare equal."""
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", text)
    for piece in _DROP:
        text = text.replace(piece, "")
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = "".join(text.split()).rstrip(".")
    return text


def latex_answer(text: str) -> str:
    """The answer a LaTeX item reads from a reply: its last \\boxed{}, else the whole reply."""
    return normalise_latex(last_boxed(text) or text)
