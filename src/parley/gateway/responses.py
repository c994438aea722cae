"""POST /v1/responses (and /api/v1/...): the Responses API over the same engine.

A request with a server tool (fusion as tool, alias or plugin; web_search, web_fetch,
datetime) runs the engine and is answered as a Responses object or event stream
(`parley.wire.responses_events`). A request with none goes to its upstream: untouched to
a provider that speaks Responses (`responses_upstreams`), else translated to Chat
Completions and answered the same way as a tooled one.

A run that fails once output exists (a deliberation paid for, then the outer model
failed) is answered with that output and `status: "failed"`, not thrown away.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from parley import _constants as C
from parley import engine
from parley.engine import events as ev
from parley.gateway import passthrough, runs
from parley.gateway.asgi import ClientGone, Receive, Scope, Send, send_bytes, until_disconnect
from parley.gateway.endpoint import Incoming, JsonEndpoint
from parley.gateway.errors import from_exception
from parley.gateway.state import GatewayState
from parley.gateway.streaming import Stream
from parley.wire import sse
from parley.wire.responses_events import ResponseBuild
from parley.wire.responses_output import ResponseShape
from parley.wire.responses_request import to_request
from parley.wire.sse import json_bytes


class ResponsesEndpoint(JsonEndpoint):
    """POST /v1/responses."""

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        raw, depth = incoming.body, incoming.depth
        runtime = state.runtime
        asked = to_request(raw)
        p = engine.plan(asked.request, runtime, depth=depth)
        runtime.router.resolve(p.outer_model)  # a missing key is a 503 before any byte
        if p.passthrough and runtime.router.forwarding(p.outer_model, responses=True):
            body = {**raw, "model": p.outer_model} if raw.get("model") != p.outer_model else raw
            data = incoming.data
            sent = data if body is raw and json.detect_encoding(data) == "utf-8" else None
            headers = {C.DEPTH_HEADER: str(depth)} if depth else {}
            call = passthrough.Call(p.outer_model, body, headers, sent, endpoint="responses")
            if p.request.stream:
                await passthrough.stream(call, state, send, receive)
            else:
                await passthrough.complete(call, state, send, receive)
            return
        build = ResponseBuild(ResponseShape(p.outer_model, asked.echo, asked.notes))
        with self.admitted(p, incoming):
            if p.request.stream:
                await _stream(p, state, build, send, receive)
            else:
                await _complete(p, state, build, send, receive)


async def _complete(
    p: engine.Plan, state: GatewayState, build: ResponseBuild, send: Send, receive: Receive
) -> None:
    try:
        outcome = await until_disconnect(runs.run(p, state, emit=build.feed), receive)
    except ClientGone:
        raise
    except Exception as exc:
        if not build.output:
            raise
        status, body = from_exception(exc)
        build.fail(_code(status), body["error"]["message"])
        await send_bytes(send, 200, state.redactor.data(json_bytes(build.response)))
        return
    build.finish(outcome)
    if state.log is not None:
        await state.log.record(outcome, p.request.messages)
    await send_bytes(send, 200, state.redactor.data(json_bytes(build.response)))


async def _stream(
    p: engine.Plan, state: GatewayState, build: ResponseBuild, send: Send, receive: Receive
) -> None:
    def failed(err: dict[str, Any]) -> bytes:
        build.fail(_code(int(err["error"]["code"])), str(err["error"]["message"]))
        return _drain(build)

    out = Stream(send, receive, failed, state.redactor)
    await out.run(_produce(p, state, build, out))


async def _produce(p: engine.Plan, state: GatewayState, build: ResponseBuild, out: Stream) -> None:
    build.start()
    await out.write(_drain(build))
    items = runs.stream(p, state, panel_text=True)
    async with contextlib.aclosing(items):
        async for item in items:
            if isinstance(item, ev.Idle):
                await out.write(sse.HEARTBEAT)
                continue
            if isinstance(item, ev.Completed):
                build.finish(item.outcome)
                if state.log is not None:
                    await state.log.record(item.outcome, p.request.messages)
                await out.write(_drain(build))
                await out.close()
                return
            build.feed(item)
            await out.write(_drain(build))


def _drain(build: ResponseBuild) -> bytes:
    """The build's new events as SSE (`event:` name and `data:`), emptied from it."""
    events, build.events = build.events, []
    return b"".join(sse.event(e["type"], e) for e in events)


def _code(status: int) -> str:
    """A failed response's `error.code`, in the Responses API's words."""
    return {429: "rate_limit_exceeded", 400: "invalid_prompt"}.get(status, "server_error")
