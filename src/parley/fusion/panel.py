"""The panel's side of a deliberation: who sits on it, what it is asked, and how its
failures and sources are summed up."""

from __future__ import annotations

from typing import Any

from parley.errors import InvalidParameter
from parley.fusion.params import FusionParams
from parley.fusion.result import FailedModel, FailureReason
from parley.models.base import Source, last_user_text
from parley.runtime import Runtime


def panel_messages(question: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The panel's prompt; it always ends with a user turn, as some providers require."""
    if isinstance(question, str):
        return [{"role": "user", "content": question}]
    messages = [dict(m) for m in question]
    if not messages or messages[-1].get("role") != "user":
        messages.append({"role": "user", "content": "Answer the question above."})
    return messages


def question_text(question: str | list[dict[str, Any]]) -> str:
    """The question as text, for the judge's prompt: the last user message."""
    return question if isinstance(question, str) else last_user_text(question)


def all_failed_reason(failed: list[FailedModel]) -> FailureReason:
    """Why every panelist failed, most actionable first: credits, then rate limits."""
    codes = {f.status_code for f in failed}
    if 402 in codes:
        return "insufficient_credits"
    if 429 in codes:
        return "rate_limited"
    if any(f.status_code == 404 or _names_bad_model(f.error) for f in failed):
        return "invalid_model"
    return "all_panels_failed"


def _names_bad_model(error: str) -> bool:
    # OpenRouter answers an unknown id with a 400 "... is not a valid model ID".
    low = error.lower()
    return "unknown model" in low or "not a valid model" in low


def panel_for(runtime: Runtime, params: FusionParams, where: str = "parameters") -> list[str]:
    """The panel: the parameters', else the config's `panel`, else the current preset's.

    `where` is the request field the parameters came from, for the error's name."""
    settings = runtime.settings
    preset = settings.presets.get(settings.preset)
    panel = list(
        params.analysis_models or settings.panel or (preset.analysis_models if preset else [])
    )
    if not panel:
        raise InvalidParameter(
            f"{where}.analysis_models",
            f"no panel: pass analysis_models, set `panel` in the config, or pick a preset "
            f"that exists (preset {settings.preset!r} is not defined)",
        )
    return panel


def dedupe_sources(sources: list[Source]) -> list[Source]:
    """One entry per URL, in first-seen order, keeping the first non-empty title."""
    seen: dict[str, Source] = {}
    for s in sources:
        kept = seen.get(s.url)
        if kept is None:
            seen[s.url] = Source(url=s.url, title=s.title)
        elif not kept.title and s.title:
            kept.title = s.title
    return list(seen.values())
