"""A finished run, in the engine's terms; each face renders it in its own format."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.errors import UpstreamError
from parley.fusion.run import Deliberation
from parley.models.base import ToolCall
from parley.tools.loop import LoopResult
from parley.usage import Usage


@dataclass
class Outcome:
    """What a request produced: the answer (every outer turn's text), why it ended, the
    client's own tool calls if the model made any, the usage summed over every call
    (inner ones included), the deliberations, and how long it took."""

    id: str
    model: str
    text: str | None
    finish_reason: str
    tool_calls: list[ToolCall]
    usage: Usage
    loop: LoopResult
    deliberations: list[Deliberation] = field(default_factory=list)
    seconds: float = 0.0


class Unfinished(UpstreamError):
    """The request failed after deliberations had finished (the outer model's last call
    failed, after its retries): the error to report, as `cause` says it, and the partial
    `outcome` holding what was paid for, so a face can still hand the fusion result to
    the client and log the run."""

    def __init__(self, cause: UpstreamError, outcome: Outcome) -> None:
        super().__init__(cause.message, cause.status_code, cause.model, cause.retry_after)
        self.cause = cause
        self.outcome = outcome
