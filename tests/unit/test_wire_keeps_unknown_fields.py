"""Chat Completions wire models keep fields Parley does not know, untouched."""

from __future__ import annotations

from parley.wire.chat_request import ChatRequest
from parley.wire.chat_response import ChatChunk, ChatResponse

RESPONSE = {
    "id": "gen-1",
    "object": "chat.completion",
    "created": 1,
    "model": "vendor/m",
    "provider": "SomeHost",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi", "refusal": None},
            "finish_reason": "stop",
            "native_finish_reason": "end_turn",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "is_byok": False},
}

CHUNK = {
    "id": "gen-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "vendor/m",
    "system_fingerprint": "fp",
    "choices": [{"index": 0, "delta": {"content": "h", "reasoning": None}, "logprobs": None}],
}


def test_a_response_round_trips_with_unknown_fields() -> None:
    assert ChatResponse.model_validate(RESPONSE).model_dump(exclude_unset=True) == RESPONSE


def test_a_chunk_round_trips_with_unknown_fields() -> None:
    assert ChatChunk.model_validate(CHUNK).model_dump(exclude_unset=True) == CHUNK


def test_a_request_keeps_fields_parley_does_not_use() -> None:
    raw = {
        "model": "vendor/m",
        "messages": [{"role": "user", "content": "hi"}],
        "provider": {"order": ["A"]},
        "top_k": 3,
    }
    req = ChatRequest.model_validate(raw)
    assert req.model_dump(exclude_unset=True) == raw
