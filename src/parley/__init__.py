"""Parley: multi-model deliberation for any LLM.

A panel of models answers in parallel, a judge maps where they agree, disagree and fall
silent, and the asking model writes the final answer from that map.
"""

from parley.client import Parley
from parley.config import Settings, load_settings
from parley.errors import (
    ConfigError,
    InvalidParameter,
    MissingExtraError,
    MissingKeyError,
    ParleyError,
    UnknownModelError,
    UpstreamError,
    UpstreamTimeout,
)
from parley.fusion.events import (
    AnalysisCompleted,
    AnalysisInProgress,
    Event,
    FusionCompleted,
    PanelAdded,
    PanelCompleted,
    PanelDelta,
    PanelFailed,
    PanelReasoningDelta,
    PanelToolCall,
)
from parley.fusion.params import FusionParams
from parley.fusion.result import Analysis, FusionResult
from parley.fusion.run import Deliberation, deliberate, deliberate_sync
from parley.models.base import ChatModel, Turn
from parley.runtime import Runtime
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.web import FetchedPage, SearchHit
from parley.usage import Usage

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "AnalysisCompleted",
    "AnalysisInProgress",
    "ChatModel",
    "ConfigError",
    "Deliberation",
    "Event",
    "FakeFetcher",
    "FakeRequest",
    "FakeSearch",
    "FetchedPage",
    "FunctionModel",
    "FusionCompleted",
    "FusionParams",
    "FusionResult",
    "InvalidParameter",
    "MissingExtraError",
    "MissingKeyError",
    "PanelAdded",
    "PanelCompleted",
    "PanelDelta",
    "PanelFailed",
    "PanelReasoningDelta",
    "PanelToolCall",
    "Parley",
    "ParleyError",
    "Runtime",
    "SearchHit",
    "Settings",
    "Turn",
    "UnknownModelError",
    "UpstreamError",
    "UpstreamTimeout",
    "Usage",
    "deliberate",
    "deliberate_sync",
    "load_settings",
    "tool_call",
    "tool_calls",
]
