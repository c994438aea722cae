"""GET /health (liveness) and GET /ready (readiness), on the API's port and, with
`gateway.health_port`, on a port of their own answered by a child process (`probe_port`).

Both are answered from counters and the circuit breakers' fields, never awaiting
anything. On the API's port they still wait their turn on the event loop: with hundreds
of deliberations in flight one turn of the loop can take a few hundred milliseconds, and
a probe waits behind it. The probe port does not share the loop, so a load balancer's
probe is answered in milliseconds however busy the gateway is; it also sees a loop that
has stopped turning (`stalled`), which the API's port cannot report about itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley import _constants as C
from parley.gateway.errors import error_body

if TYPE_CHECKING:  # the state holds the probe port: no import at run time
    from parley.gateway.state import GatewayState

# (status, JSON body, extra headers)
Answer = tuple[int, dict[str, Any], dict[str, str]]


def breakers(state: GatewayState) -> dict[str, dict[str, Any]]:
    """Each provider's circuit breaker, as plain JSON (only providers called so far)."""
    runtime = state.running
    if runtime is None:
        return {}
    return {
        provider: {"state": b.state, "window_s": b.window_s, "cooldown_s": b.cooldown_s}
        for provider, b in sorted(runtime.router.breakers.items())
    }


def health(state: GatewayState, *, stalled_s: float | None = None) -> Answer:
    """Liveness. `stalled_s`: how long the event loop has not turned, when the caller
    can tell (the probe port); from C.GATEWAY_LOOP_STALL_S on it is a 503."""
    if stalled_s is not None and stalled_s >= C.GATEWAY_LOOP_STALL_S:
        message = (
            f"the gateway's event loop has not run for more than "
            f"{C.GATEWAY_LOOP_STALL_S:g} s: restart the process"
        )
        return 503, error_body(503, message, "stalled"), {}
    adm = state.admission
    body = {
        "status": "draining" if adm.draining else "ok",
        "in_flight": adm.in_flight,
        "max_in_flight": adm.max_in_flight,
        "breakers": breakers(state),
    }
    return 200, body, {}


def ready(state: GatewayState) -> Answer:
    """Readiness: a 503 with `Retry-After` while starting or draining."""
    if state.running is None or state.admission.draining:
        reason = "draining" if state.admission.draining else "starting"
        body = error_body(503, f"not ready: the server is {reason}", reason)
        return 503, body, {"Retry-After": str(C.GATEWAY_RETRY_AFTER_S)}
    return 200, {"status": "ready"}, {}


def routes(state: GatewayState) -> tuple[Any, Any]:
    """The two endpoints over `state`, for the API's port."""

    async def health_endpoint(request: Request) -> Response:
        status, body, headers = health(state)
        return JSONResponse(body, status, headers=headers)

    async def ready_endpoint(request: Request) -> Response:
        status, body, headers = ready(state)
        return JSONResponse(body, status, headers=headers)

    return health_endpoint, ready_endpoint
