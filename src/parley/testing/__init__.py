"""Every in-package fake, for Parley's tests and for yours: nothing here touches a network
beyond loopback.

- `FunctionModel`, `FakeRequest`, `tool_call`, `tool_calls`: a model whose turns a Python
  function decides.
- `FakeUpstream` (and `ThreadedUpstream`): an OpenAI-compatible server on loopback whose
  models are FunctionModels, or `RawModel`s that write `RawReply` bytes (faults).
- `FakeSearch`, `FakeFetcher`: web backends answering from fixed data.
- `ServerThread`: the gateway (any ASGI app) under uvicorn on a loopback port, in a thread.
- `ANALYSIS`: a canned judge analysis with all five keys.
"""

from parley.testing.canned import ANALYSIS, ANALYSIS_JSON
from parley.testing.models import (
    FakeRequest,
    FunctionModel,
    ScriptedModel,
    echo_model,
    tool_call,
    tool_calls,
)
from parley.testing.server import ServerThread
from parley.testing.upstream import FakeUpstream, RawModel, RawReply, Recorded, ThreadedUpstream
from parley.testing.web import FakeFetcher, FakeSearch

__all__ = [
    "ANALYSIS",
    "ANALYSIS_JSON",
    "FakeFetcher",
    "FakeRequest",
    "FakeSearch",
    "FakeUpstream",
    "FunctionModel",
    "RawModel",
    "RawReply",
    "Recorded",
    "ScriptedModel",
    "ServerThread",
    "ThreadedUpstream",
    "echo_model",
    "tool_call",
    "tool_calls",
]
