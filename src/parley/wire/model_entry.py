"""A model entry of GET /v1/models in OpenRouter's shape, and what of an upstream's own
description of the model may go into it.

OpenRouter's SDK validates the whole listing at once: one entry with a field of the
wrong type (Together's numeric `pricing.input`, a Hugging Face router's `architecture`
without `modality`) fails the call, for every model. So an upstream's fields are taken
only where they fit OpenRouter's schema: objects are merged over Parley's own values key
by key, and a key whose value does not fit is left as Parley had it. Keys the schema does
not name are kept (the SDK drops them; other clients may read them).
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

# A JSON number (`z.number()`); `z.int()` is StrictInt. Strict: no "1" for 1, no bool.
Number = StrictInt | StrictFloat


class _Shape(BaseModel):
    # Extra keys are not what the SDK checks; types are, without coercion.
    model_config = ConfigDict(extra="allow", strict=True)


class _PricingOverride(_Shape):
    audio: StrictStr | None = None
    completion: StrictStr | None = None
    input_audio_cache: StrictStr | None = None
    input_cache_read: StrictStr | None = None
    input_cache_write: StrictStr | None = None
    input_cache_write_1h: StrictStr | None = None
    min_prompt_tokens: Number | None = None
    prompt: StrictStr | None = None
    utc_days: list[StrictStr] | None = None
    utc_end: Number | None = None
    utc_start: Number | None = None


class _Limits(_Shape):
    prompt_tokens: Number
    completion_tokens: Number


class _Defaults(_Shape):
    frequency_penalty: Number | None = None
    presence_penalty: Number | None = None
    repetition_penalty: Number | None = None
    temperature: Number | None = None
    top_k: StrictInt | None = None
    top_p: Number | None = None


class _Links(_Shape):
    details: StrictStr


class _AliasTarget(_Shape):
    name: StrictStr
    slug: StrictStr


class _Reasoning(_Shape):
    mandatory: StrictBool
    default_effort: StrictStr | None = None
    default_enabled: StrictBool | None = None
    supported_efforts: list[StrictStr | None] | None = None
    supports_max_tokens: StrictBool | None = None


class _ArtificialAnalysis(_Shape):
    agentic_index: Number | None
    coding_index: Number | None
    intelligence_index: Number | None


class _DesignArena(_Shape):
    arena: StrictStr
    category: StrictStr
    elo: Number
    rank: StrictInt
    win_rate: Number


class _Benchmarks(_Shape):
    design_arena: list[_DesignArena]
    artificial_analysis: _ArtificialAnalysis | None = None


# A key absent from an object is fine (Parley's value stays); a present one must fit.
_NULLABLE_STR: TypeAdapter[Any] = TypeAdapter(StrictStr | None)
_STR: TypeAdapter[Any] = TypeAdapter(StrictStr)
_STRS: TypeAdapter[Any] = TypeAdapter(list[StrictStr])
_NULLABLE_INT: TypeAdapter[Any] = TypeAdapter(StrictInt | None)

# The members of the objects Parley fills itself, by object.
_MEMBERS: dict[str, dict[str, TypeAdapter[Any]]] = {
    "architecture": {
        "input_modalities": _STRS,
        "output_modalities": _STRS,
        "modality": _NULLABLE_STR,
        "tokenizer": _STR,
        "instruct_type": _NULLABLE_STR,
    },
    "pricing": {
        **{
            k: _STR
            for k in (
                "prompt",
                "completion",
                "audio",
                "audio_output",
                "image",
                "image_output",
                "image_token",
                "input_audio_cache",
                "input_cache_read",
                "input_cache_write",
                "input_cache_write_1h",
                "internal_reasoning",
                "request",
                "web_search",
            )
        },
        "discount": TypeAdapter(Number),
        "overrides": TypeAdapter(list[_PricingOverride]),
    },
    "top_provider": {
        "is_moderated": TypeAdapter(StrictBool),
        "context_length": _NULLABLE_INT,
        "max_completion_tokens": _NULLABLE_INT,
    },
}

# Every other field of OpenRouter's schema, taken whole or not at all.
_FIELDS: dict[str, TypeAdapter[Any]] = {
    "canonical_slug": _STR,
    "name": _STR,
    "created": TypeAdapter(StrictInt),
    "context_length": _NULLABLE_INT,
    "description": _STR,
    "expiration_date": _NULLABLE_STR,
    "hugging_face_id": _NULLABLE_STR,
    "knowledge_cutoff": _NULLABLE_STR,
    "per_request_limits": TypeAdapter(_Limits | None),
    "supported_parameters": _STRS,
    "supported_voices": TypeAdapter(list[StrictStr] | None),
    "default_parameters": TypeAdapter(_Defaults | None),
    "links": TypeAdapter(_Links),
    "alias_target": TypeAdapter(_AliasTarget),
    "reasoning": TypeAdapter(_Reasoning),
    "benchmarks": TypeAdapter(_Benchmarks),
}


def _fits(check: TypeAdapter[Any], value: Any) -> bool:
    try:
        check.validate_python(value)
    except ValidationError:
        return False
    return True


def merge_upstream(entry: dict[str, Any], upstream: dict[str, Any]) -> dict[str, Any]:
    """`entry` (Parley's, complete) with what `upstream` says of the model wherever it
    fits OpenRouter's schema. The id and OpenAI's `object` stay Parley's; an upstream's
    null says nothing (Parley's value stays)."""
    out = dict(entry)
    for key, value in upstream.items():
        if key in ("id", "object") or value is None:
            continue
        members = _MEMBERS.get(key)
        if members is not None:
            if isinstance(value, dict):
                merged = dict(out.get(key) or {})
                for k, v in value.items():
                    check = members.get(k)
                    if check is None or _fits(check, v):
                        merged[k] = v
                out[key] = merged
            continue
        check = _FIELDS.get(key)
        if check is None or _fits(check, value):
            out[key] = value
    return out
