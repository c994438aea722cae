"""An upstream's description of a model goes into the listing only where it fits
OpenRouter's schema (whose SDK refuses the whole listing over one misfit field)."""

from __future__ import annotations

from typing import Any

from parley.wire.model_entry import merge_upstream

PARLEY: dict[str, Any] = {
    "id": "vendor/m",
    "object": "model",
    "name": "vendor/m",
    "created": 0,
    "context_length": None,
    "architecture": {
        "modality": "text->text",
        "input_modalities": ["text"],
        "output_modalities": ["text"],
        "tokenizer": "Other",
    },
    "pricing": {"prompt": "-1", "completion": "-1"},
    "top_provider": {"is_moderated": False, "context_length": None},
    "per_request_limits": None,
}


def test_fields_that_fit_are_taken() -> None:
    up = {
        "name": "Vendor: M",
        "created": 1747000000,
        "context_length": 131072,
        "pricing": {"prompt": "0.000001", "completion": "0.000002", "discount": 0.1},
        "top_provider": {"is_moderated": True, "max_completion_tokens": 8192},
        "per_request_limits": {"prompt_tokens": 1000, "completion_tokens": 2.5},
    }
    out = merge_upstream(PARLEY, up)
    assert out["name"] == "Vendor: M" and out["created"] == 1747000000
    assert out["context_length"] == 131072
    assert out["pricing"] == {"prompt": "0.000001", "completion": "0.000002", "discount": 0.1}
    assert out["top_provider"] == {
        "is_moderated": True,
        "context_length": None,
        "max_completion_tokens": 8192,
    }
    assert out["per_request_limits"] == up["per_request_limits"]


def test_fields_that_do_not_fit_leave_parleys_values() -> None:
    up = {
        "id": "other",  # the id is Parley's
        "object": "engine",
        "name": None,  # null says nothing
        "created": True,  # a bool is no integer
        "context_length": "8192",  # nor is a string: no coercion
        "pricing": {"prompt": 0.3, "input": 0.3},  # Together's numbers
        "architecture": {"input_modalities": ["text", "image"], "modality": 3},
        "per_request_limits": {"prompt_tokens": 1},  # half of one
        "supported_parameters": "tools",
    }
    out = merge_upstream(PARLEY, up)
    for key in ("id", "object", "name", "created", "context_length", "per_request_limits"):
        assert out[key] == PARLEY[key], key
    # Objects merge key by key: a misfit member is dropped, the rest is taken, and keys
    # OpenRouter's schema does not name are kept (its SDK drops them; others may read them).
    assert out["pricing"] == {"prompt": "-1", "completion": "-1", "input": 0.3}
    assert out["architecture"]["modality"] == "text->text"
    assert out["architecture"]["input_modalities"] == ["text", "image"]
    assert "supported_parameters" not in out
    assert PARLEY["pricing"] == {"prompt": "-1", "completion": "-1"}  # not changed in place


def test_keys_outside_the_schema_are_kept() -> None:
    out = merge_upstream(PARLEY, {"owned_by": "vendor", "display_name": "M"})
    assert out["owned_by"] == "vendor" and out["display_name"] == "M"
