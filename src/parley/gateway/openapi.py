"""The OpenAPI 3.1 document of every route the gateway serves (GET /openapi.json).

The request bodies come from the pydantic models the gateway parses them with
(`parley.wire.chat_request.ChatRequest`, `parley.wire.responses_request.ResponsesRequest`),
so the document cannot drift from what is accepted; the answers are described by hand,
as loosely as OpenRouter's own (unknown fields are allowed: upstreams add them). A test
runs schemathesis against this document and a live gateway.

Every `/v1/...` route is also served under `/api/v1/...` (OpenRouter's prefix), and
every route also answers with a trailing slash; the document lists each prefix and
leaves the slash out.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel

from parley.gateway.deliberations import EVENT_NAMES, Ask, CancelBody
from parley.wire.chat_request import ChatRequest
from parley.wire.responses_request import ResponsesRequest

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _request_schema(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """`model`'s JSON Schema, its `$defs` moved into the components."""
    text = json.dumps(model.model_json_schema(ref_template=_REF + "{model}"))
    schema: dict[str, Any] = json.loads(text)
    defs.update(schema.pop("$defs", {}))
    return schema


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "metadata": {"type": "object"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
            },
        }
    },
}
_CHAT_COMPLETION = {
    "type": "object",
    "required": ["id", "object", "model", "choices"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "chat.completion"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "usage": {"type": "object"},
    },
}
_RESPONSE = {
    "type": "object",
    "required": ["id", "object", "status", "output"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "response"},
        "status": {"type": "string"},
        "model": {"type": "string"},
        "output": {"type": "array", "items": {"type": "object"}},
        "usage": {"type": ["object", "null"]},
    },
}
_MODEL = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
_MODEL_LIST = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "array", "items": _ref("Model")}},
}
_HEALTH = {
    "type": "object",
    "required": ["status", "in_flight", "max_in_flight", "breakers"],
    "properties": {
        "status": {"enum": ["ok", "draining"]},
        "in_flight": {"type": "integer", "minimum": 0},
        "max_in_flight": {"type": "integer", "minimum": 1},
        "breakers": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["state"],
                "properties": {"state": {"enum": ["closed", "open", "half_open"]}},
            },
        },
    },
}
_READY = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}}

# Any route may answer an error in the one shape (400, 401, 404, 408, 413, 429, 502...).
_ERRORS = {"default": _json("Error", "An error, in the shape OpenRouter's SDK reads")}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}


def _model_routes(prefix: str) -> dict[str, Any]:
    post_json = "A JSON body; `stream: true` answers Server-Sent Events instead"
    # Each event: its `data` (JSON text, or `[DONE]` last on Chat Completions) and, on
    # the Responses API, its `event` name. Comments (heartbeats) are not events.
    event = {
        "type": "object",
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    }
    sse = {"text/event-stream": {"schema": event}}
    return {
        f"{prefix}/chat/completions": {
            "post": {
                "summary": "Chat Completions, with fusion and the other server tools",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ChatRequest")}},
                },
                "responses": {
                    "200": {
                        "description": post_json,
                        "content": {"application/json": {"schema": _ref("ChatCompletion")}, **sse},
                    },
                    "429": {
                        **_json("Error", "Too many deliberations in flight"),
                        "headers": _RETRY_AFTER,
                    },
                    **_ERRORS,
                },
            }
        },
        f"{prefix}/responses": {
            "post": {
                "summary": "The Responses API over the same engine",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ResponsesRequest")}},
                },
                "responses": {
                    "200": {
                        "description": post_json,
                        "content": {"application/json": {"schema": _ref("Response")}, **sse},
                    },
                    "429": {
                        **_json("Error", "Too many deliberations in flight"),
                        "headers": _RETRY_AFTER,
                    },
                    **_ERRORS,
                },
            }
        },
        f"{prefix}/models": {
            "get": {
                "summary": "The models this gateway serves",
                "responses": {"200": _json("ModelList", "The models"), **_ERRORS},
            }
        },
        f"{prefix}/models/{{model_id}}": {
            "get": {
                "summary": "One model",
                "parameters": [
                    {
                        "name": "model_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "responses": {"200": _json("Model", "The model"), **_ERRORS},
            }
        },
    }


def _page_routes() -> dict[str, Any]:
    """The API the web page reads (see `parley.gateway.deliberations`)."""
    named = {
        "type": "object",
        "required": ["event", "data"],
        "properties": {"event": {"enum": list(EVENT_NAMES)}, "data": {"type": "string"}},
    }
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/v1/deliberations": {
            "post": {
                "summary": "Ask with fusion forced, streaming the deliberation as named "
                "Server-Sent Events: parley.run.started first (run_id, cancel_token), "
                "response.fusion_call.* as OpenRouter's, response.output_text.delta for the "
                "answer, parley.run.completed last (the run's log entry: answers, analysis, "
                "usage, timings). Closing the stream cancels the run.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Ask")}},
                },
                "responses": {
                    "200": {
                        "description": "The run's events",
                        "content": {"text/event-stream": {"schema": named}},
                    },
                    **_ERRORS,
                },
            },
            "get": {
                "summary": "The logged deliberations, newest first",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
                "responses": {"200": {"description": "Summaries", "content": _any()}, **_ERRORS},
            },
        },
        "/v1/deliberations/cancel": {
            "post": {
                "summary": "Stop a running deliberation (its upstream calls stop)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CancelBody")}},
                },
                "responses": {"200": {"description": "Stopped", "content": _any()}, **_ERRORS},
            }
        },
        "/v1/deliberations/{run_id}": {
            "get": {
                "summary": "One logged deliberation, as it ran",
                "parameters": [run_id],
                "responses": {"200": {"description": "The entry", "content": _any()}, **_ERRORS},
            }
        },
        "/v1/choices": {
            "get": {
                "summary": "The models and presets to choose a panel from",
                "responses": {"200": {"description": "Choices", "content": _any()}, **_ERRORS},
            }
        },
        "/ui": {
            "get": {
                "summary": "The web page (also at / and /ui/runs/{run_id})",
                "security": [],
                "responses": {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def _any() -> dict[str, Any]:
    return {"application/json": {"schema": {"type": "object"}}}


@functools.cache
def document() -> dict[str, Any]:
    """The document (built once: it depends on nothing but the code)."""
    defs: dict[str, Any] = {}
    schemas = {
        "ChatRequest": _request_schema(ChatRequest, defs),
        "ResponsesRequest": _request_schema(ResponsesRequest, defs),
        "Error": _ERROR,
        "ChatCompletion": _CHAT_COMPLETION,
        "Response": _RESPONSE,
        "Model": _MODEL,
        "ModelList": _MODEL_LIST,
        "Health": _HEALTH,
        "Ready": _READY,
        "Ask": _request_schema(Ask, defs),
        "CancelBody": _request_schema(CancelBody, defs),
    }
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Liveness, with each provider's circuit breaker",
                "description": "Also served, by a process of its own, on the probe port "
                "(`parley serve --health-port`, PARLEY_HEALTH_PORT): answered at once however "
                "busy the gateway is, and a 503 (`stalled`) when its event loop stops.",
                "responses": {"200": _json("Health", "Alive")},
            }
        },
        "/ready": {
            "get": {
                "summary": "Readiness: 503 while starting or draining",
                "description": "Also served on the probe port (PARLEY_HEALTH_PORT).",
                "responses": {
                    "200": _json("Ready", "Taking work"),
                    "503": {**_json("Error", "Not taking work"), "headers": _RETRY_AFTER},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "The text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    for path in ("/health", "/ready", "/openapi.json"):  # open even with API keys
        paths[path]["get"]["security"] = []
    for prefix in ("/v1", "/api/v1"):
        paths.update(_model_routes(prefix))
    paths.update(_page_routes())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley gateway",
            "version": "1",
            "description": "OpenAI- and OpenRouter-compatible, with fusion as server tool, "
            "model alias and plugin. Send `Authorization: Bearer <key>` when the server has "
            "PARLEY_API_KEYS (every route but /health, /ready and /openapi.json).",
        },
        "paths": paths,
        # A bearer key when the server has PARLEY_API_KEYS, none otherwise.
        "security": [{"bearer": []}, {}],
        "components": {
            "schemas": {**schemas, **defs},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
