"""Parley: multi-model deliberation for any LLM.

A panel of models answers in parallel, a judge maps where they agree, disagree and fall
silent, and the asking model writes the final answer from that map.
"""

from parley.client import Parley, deliberate, deliberate_sync
from parley.config import Settings, load_settings
from parley.engine import Completed, Event, Outcome
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
    FusionCompleted,
    FusionEvent,
    JudgeToolCall,
    PanelAdded,
    PanelCompleted,
    PanelDelta,
    PanelFailed,
    PanelReasoningDelta,
    PanelToolCall,
)
from parley.fusion.params import FusionParams
from parley.fusion.result import Analysis, FusionResult
from parley.fusion.run import Deliberation
from parley.models.base import ChatModel, Delta, ToolCall, Turn
from parley.runtime import Runtime, Setup
from parley.testing.models import FakeRequest, FunctionModel, tool_call, tool_calls
from parley.testing.web import FakeFetcher, FakeSearch
from parley.tools.base import ToolOutput, function_def
from parley.tools.events import ReasoningDelta, TextDelta, ToolFinished, ToolStarted, TurnStarted
from parley.tools.registry import REGISTRY, ServerToolKind, ToolContext
from parley.tools.web import FetchedPage, SearchHit
from parley.usage import Usage

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Analysis",
    "AnalysisCompleted",
    "AnalysisInProgress",
    "ChatModel",
    "Completed",
    "ConfigError",
    "Deliberation",
    "Delta",
    "Event",
    "FakeFetcher",
    "FakeRequest",
    "FakeSearch",
    "FetchedPage",
    "FunctionModel",
    "FusionCompleted",
    "FusionEvent",
    "FusionParams",
    "FusionResult",
    "InvalidParameter",
    "JudgeToolCall",
    "MissingExtraError",
    "MissingKeyError",
    "Outcome",
    "PanelAdded",
    "PanelCompleted",
    "PanelDelta",
    "PanelFailed",
    "PanelReasoningDelta",
    "PanelToolCall",
    "Parley",
    "ParleyError",
    "ReasoningDelta",
    "Runtime",
    "SearchHit",
    "ServerToolKind",
    "Settings",
    "Setup",
    "TextDelta",
    "ToolCall",
    "ToolContext",
    "ToolFinished",
    "ToolOutput",
    "ToolStarted",
    "Turn",
    "TurnStarted",
    "UnknownModelError",
    "UpstreamError",
    "UpstreamTimeout",
    "Usage",
    "deliberate",
    "deliberate_sync",
    "function_def",
    "load_settings",
    "tool_call",
    "tool_calls",
]
