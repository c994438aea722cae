"""One Chat Completions request end to end: resolve alias, plugin and tools, run the outer
model's tool loop (fusion included), and build the response with usage summed over every call.

The gateway and the CLI both call `plan()` then `run()`; only how they render differs.
`stream()` is `run()` as an async iterator (text deltas, tool starts, fusion events, then
the outcome), for the gateway's SSE; `passthrough_body()` is what goes upstream when a plan
involves no server tool at all.
"""

from parley.engine.passthrough import passthrough_body
from parley.engine.plan import ALIASES, Plan, is_server_tool, plan
from parley.engine.run import IDLE, ChatOutcome, Idle, StreamItem, ToolStarted, run, stream

__all__ = [
    "ALIASES",
    "IDLE",
    "ChatOutcome",
    "Idle",
    "Plan",
    "StreamItem",
    "ToolStarted",
    "is_server_tool",
    "passthrough_body",
    "plan",
    "run",
    "stream",
]
