"""The judge: prompt, schema, and turning its output into a valid Analysis or a reason why not."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from parley.fusion.result import Analysis, FailureReason, PanelResponse

SYSTEM = """You are the analyst of a panel of AI models. Several models answered the same \
question independently. Compare their answers; do not merge them into one answer and do \
not answer the question yourself.

Return one JSON object with exactly these keys:
- "consensus": points that all or most models agree on (strings);
- "contradictions": topics where models disagree, each {"topic", "stances": [{"model", \
"stance"}]};
- "partial_coverage": points only some models covered, each {"models": [...], "point"};
- "unique_insights": things only one model raised, each {"model", "insight"};
- "blind_spots": relevant aspects none of the models addressed (strings).
Use the model names exactly as labelled. Use empty lists where nothing applies. You may \
use the web tools to check a disputed fact. Output only the JSON object."""


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema in the form strict structured outputs (and the local
    grammar) take: references inlined, every property required, no other properties."""
    root = model.model_json_schema()
    defs = root.get("$defs", {})

    def strict(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if ref is not None:
            return strict(defs[ref.rsplit("/", 1)[-1]])
        if node.get("type") == "object":
            props = {k: strict(v) for k, v in node.get("properties", {}).items()}
            return {
                "type": "object",
                "properties": props,
                "required": list(props),
                "additionalProperties": False,
            }
        if node.get("type") == "array":
            return {"type": "array", "items": strict(node["items"])}
        return {"type": node["type"]}

    return strict(root)


# Generated from the Analysis model, so the judge is asked for exactly what is validated.
SCHEMA: dict[str, Any] = strict_schema(Analysis)

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "fusion_analysis", "strict": True, "schema": SCHEMA},
}


def judge_messages(question: str, responses: list[PanelResponse]) -> list[dict[str, Any]]:
    parts = [f"## Question\n{question}\n"]
    for r in responses:
        parts.append(f'<answer model="{r.model}">\n{r.content}\n</answer>\n')
    parts.append("Return the analysis JSON now.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


@dataclass
class Verdict:
    analysis: Analysis | None
    failure_reason: FailureReason | None
    detail: str = ""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _loads_repaired(text: str) -> Any:
    """json.loads, then again after the usual repairs: fences, prose around it, trailing commas."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    s = _FENCE.sub("", text.strip())
    start, end = s.find("{"), s.rfind("}")
    if start != -1 and end > start:
        s = s[start : end + 1]
    s = _TRAILING_COMMA.sub(r"\1", s)
    return json.loads(s)


def read_verdict(text: str) -> Verdict:
    if not text.strip():
        return Verdict(None, "judge_empty_completion", "the analyst returned no text")
    try:
        data = _loads_repaired(text)
    except (ValueError, RecursionError) as exc:
        return Verdict(None, "judge_not_valid_json", f"not valid JSON: {exc}")
    if isinstance(data, dict) and set(data) == {"analysis"} and isinstance(data["analysis"], dict):
        data = data["analysis"]
    try:
        return Verdict(Analysis.model_validate(data), None)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        return Verdict(None, "judge_schema_mismatch", f"{where}: {err['msg']}")


def reask_message(verdict: Verdict) -> dict[str, Any]:
    return {
        "role": "user",
        "content": (
            f"Your previous output could not be used ({verdict.detail}). Reply again with only "
            "the JSON object, with exactly the keys consensus, contradictions, "
            "partial_coverage, unique_insights and blind_spots."
        ),
    }
