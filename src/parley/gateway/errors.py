"""Errors in a shape both OpenRouter's and OpenAI's SDKs read, with the status a client can
act on: `{"error": {"code": <the HTTP status, an integer>, "message", "metadata":
{"error_type", "reason", "field"}, "type", "param"}}`. OpenRouter's SDK requires the
integer `code` (a string one makes it fail to parse the error at all) and, on an error
inside a stream, `metadata.error_type`; the OpenAI SDKs read `message`, `type` and `param`.

Statuses:
- 4xx: a request the client can fix (bad JSON, wrong types, unknown model, too large); the
  message and `param` name the field or header.
- An upstream's error keeps the upstream's status (429 stays 429); 502 when the upstream
  could not be reached or answered something malformed, 504 when it ran past its bound.
  The message names the upstream model.
- 503 when this server cannot serve the request as configured: a provider key missing
  (the message names the model id and the variable the operator must set; a 401 would
  make SDKs blame the client's own key), a missing extra or a broken setting (the message
  names the fix). The client cannot fix these, and they may pass once the operator has.
- When the outer model fails after a deliberation finished, the error says why as above
  and carries each deliberation's result in `metadata.fusion`: what was paid for is kept.
- 500 only for a bug: the message says no more than that; the server log has the rest.
"""

from __future__ import annotations

import logging
from typing import Any

from parley.engine.outcome import Unfinished
from parley.errors import (
    ConfigError,
    InvalidParameter,
    MissingExtraError,
    MissingKeyError,
    Overloaded,
    ParleyError,
    UnknownModelError,
    UpstreamError,
    UpstreamTimeout,
)

log = logging.getLogger("parley.gateway")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class HTTPError(Exception):
    """An error the gateway answers with directly (before any upstream call)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        # Seconds, sent as `Retry-After`: the SDKs' retry loops read it.
        self.retry_after = retry_after
        super().__init__(message)


# OpenRouter's `error_type` words for a status (an open set: any string is read).
_ERROR_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    502: "provider_unavailable",
    503: "service_unavailable",
    504: "timeout",
}


def error_body(
    status: int, message: str, reason: str | int | None = None, param: str | None = None
) -> dict[str, Any]:
    """The error object for `status`; `reason` says why in a word (`invalid_parameter`,
    `missing_provider_key`), `param` names the field or header at fault."""
    kind = _TYPES.get(status, "upstream_error" if status in (502, 503, 504) else "server_error")
    metadata: dict[str, Any] = {"error_type": _ERROR_TYPES.get(status, "server")}
    if reason is not None and not isinstance(reason, int):
        metadata["reason"] = reason
    if param:
        metadata["field"] = param
    return {
        "error": {
            "code": status,
            "message": message,
            "metadata": metadata,
            "type": kind,
            "param": param,
        }
    }


def from_exception(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, body) for anything a request can raise; internals never reach the client."""
    if isinstance(exc, HTTPError):
        return exc.status, error_body(exc.status, exc.message, exc.code, exc.param)
    if isinstance(exc, InvalidParameter):
        return 400, error_body(400, str(exc), "invalid_parameter", exc.field or None)
    if isinstance(exc, UnknownModelError):
        return 404, error_body(404, str(exc), "model_not_found", "model")
    if isinstance(exc, Unfinished):
        # The deliberations finished and were paid for: the client gets their results
        # with the error (`metadata.fusion`, one per deliberation), not nothing.
        status, body = from_exception(exc.cause)
        results = [d.result.to_wire() for d in exc.outcome.deliberations if d.result]
        body["error"]["metadata"]["fusion"] = results
        return status, body
    if isinstance(exc, UpstreamTimeout):
        return 504, error_body(504, exc.message, "upstream_timeout")
    if isinstance(exc, Overloaded):
        return 503, error_body(503, exc.message, "overloaded")
    if isinstance(exc, UpstreamError):
        status = exc.status_code if exc.status_code and 400 <= exc.status_code < 600 else 502
        return status, error_body(status, exc.message, status)
    if isinstance(exc, MissingKeyError):
        return 503, error_body(503, str(exc), "missing_provider_key", "model")
    if isinstance(exc, MissingExtraError):
        return 503, error_body(503, str(exc), "missing_extra")
    if isinstance(exc, ConfigError):
        return 503, error_body(503, str(exc), "server_config")
    if isinstance(exc, ParleyError):
        return 400, error_body(400, str(exc), "invalid_request")
    log.exception("unexpected error in a request", exc_info=exc)
    return 500, error_body(500, "internal error; the server log has the details", "internal")
