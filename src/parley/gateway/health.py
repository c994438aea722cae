"""GET /health (liveness) and GET /ready (readiness).

Both are answered from counters and the circuit breakers' fields, never awaiting
anything, so they are not held up behind request work (a load balancer's probe must
not time out because the gateway is busy).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley import _constants as C
from parley.gateway.errors import error_body
from parley.gateway.state import GatewayState


def breakers(state: GatewayState) -> dict[str, dict[str, Any]]:
    """Each provider's circuit breaker, as plain JSON (only providers called so far)."""
    runtime = state.running
    if runtime is None:
        return {}
    return {
        provider: {"state": b.state, "window_s": b.window_s, "cooldown_s": b.cooldown_s}
        for provider, b in sorted(runtime.router.breakers.items())
    }


def routes(state: GatewayState) -> tuple[Any, Any]:
    """The two endpoints over `state`."""

    async def health(request: Request) -> Response:
        adm = state.admission
        return JSONResponse(
            {
                "status": "draining" if adm.draining else "ok",
                "in_flight": adm.in_flight,
                "max_in_flight": adm.max_in_flight,
                "breakers": breakers(state),
            }
        )

    async def ready(request: Request) -> Response:
        if state.running is None or state.admission.draining:
            draining = state.admission.draining
            reason = "draining" if draining else "starting"
            body = error_body(503, f"not ready: the server is {reason}", reason)
            headers = {"Retry-After": str(C.GATEWAY_RETRY_AFTER_S)}
            return JSONResponse(body, 503, headers=headers)
        return JSONResponse({"status": "ready"})

    return health, ready
