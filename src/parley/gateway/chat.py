"""POST /v1/chat/completions (and /api/v1/...): read the request, plan it, then either pass
it through untouched or run its server tools; streaming or not.
"""

from __future__ import annotations

import json

from parley import _constants as C
from parley import engine
from parley.gateway import passthrough, tooled
from parley.gateway.asgi import Receive, Scope, Send, header
from parley.gateway.endpoint import Incoming, JsonEndpoint
from parley.wire.chat_request import passthrough_body, to_request

# Opt-in header for fusion progress events in a Chat Completions stream.
EVENTS_HEADER = b"x-parley-fusion-events"


class ChatEndpoint(JsonEndpoint):
    """POST /v1/chat/completions."""

    async def handle(self, incoming: Incoming, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        raw, depth = incoming.body, incoming.depth
        runtime = state.runtime
        p = engine.plan(to_request(raw), runtime, depth=depth)
        # Resolved before anything is sent (and cached for the run), so that a missing
        # provider key is a 503, not an error event in a stream that has already started.
        runtime.router.resolve(p.outer_model)
        if not p.passthrough:
            with self.admitted(p, incoming):
                if p.request.stream:
                    events = (header(scope, EVENTS_HEADER) or b"").lower() in (b"1", b"true")
                    await tooled.stream(p, state, send, receive, events=events)
                else:
                    await tooled.complete(p, state, send, receive)
            return
        body = passthrough_body(raw, p)
        data = incoming.data
        # Unchanged: no need to encode it again, unless it came in an encoding that only
        # lenient readers take (a BOM, UTF-16), which the upstream's may not be.
        sent = data if body is raw and json.detect_encoding(data) == "utf-8" else None
        headers = {C.DEPTH_HEADER: str(depth)} if depth else {}
        call = passthrough.Call(p.outer_model, body, headers, sent)
        if p.request.stream:
            await passthrough.stream(call, state, send, receive)
        else:
            await passthrough.complete(call, state, send, receive)
