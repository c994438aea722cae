"""The fusion server tool: one server tool among others, built on Deliberation."""

from __future__ import annotations

import json
from typing import Any

from parley import _constants as C
from parley.fusion.params import FusionParams
from parley.fusion.run import Deliberation, check_params
from parley.runtime import Runtime
from parley.tools.base import ToolOutput, function_def
from parley.tools.registry import REGISTRY, RequestFacts, ServerToolKind, ToolContext

DESCRIPTION = (
    "Ask a panel of different AI models the same question in parallel (they can search and "
    "read the web), and get back an analysis of where they agree, where they contradict each "
    "other, what only some covered, unique insights and blind spots, plus each model's answer. "
    "Call this only when a task genuinely benefits from several perspectives: research "
    "questions, multi-domain critique, compare-and-contrast, or anything where being wrong is "
    "expensive. Do not call it for simple or tactical prompts. The panel does not see this "
    "conversation: pass a complete, self-contained question with all the context it needs."
)

NOTE = (
    "How to use this: treat consensus as the higher-confidence ground; resolve each "
    "contradiction with reasons or show it to the user; weigh unique insights rather than "
    "dropping them; acknowledge blind spots. Write a synthesis, not a majority vote. If "
    "analysis is missing, compare the responses yourself."
)


class FusionTool:
    """The fusion server tool for one request: each call runs a Deliberation."""

    name = C.FUSION_TOOL

    def __init__(
        self, runtime: Runtime, params: FusionParams, facts: RequestFacts | None = None
    ) -> None:
        self.runtime = runtime
        self.params = params
        self.facts = facts or RequestFacts()
        self.calls = 0

    def definition(self) -> dict[str, Any]:
        return function_def(
            self.name,
            DESCRIPTION,
            {
                "question": {
                    "type": "string",
                    "description": "The complete, self-contained question for the panel.",
                }
            },
            ["question"],
        )

    def prepare(self, question: str) -> Deliberation:
        """The deliberation a call with `question` runs (the outer model judges by default)."""
        return Deliberation(
            self.runtime,
            question,
            self.params,
            judge_default=self.facts.outer_model,
            depth=self.facts.depth,
        )

    async def run(self, arguments: dict[str, Any]) -> ToolOutput:
        self.calls += 1
        if self.calls > C.FUSION_CALLS_PER_TURN:
            return ToolOutput.json(
                {
                    "status": "error",
                    "error": "fusion already ran in this turn; write the answer from its result",
                    "failure_reason": "fusion_invocation_capped",
                },
                ok=False,
            )
        question = next(
            (str(arguments[k]) for k in ("question", "prompt", "query") if arguments.get(k)), ""
        )
        if not question.strip():
            # Some models call fusion with `{}`: the user's own last message is the best
            # restatement there is.
            question = self.facts.last_user_text
        if not question.strip():
            return ToolOutput.error("fusion needs a non-empty 'question'")
        d = self.prepare(question)
        result = await d.run(self.facts.emit, panel_text=self.facts.stream_panel)
        payload = {**result.to_wire(), "note": NOTE}
        return ToolOutput(
            json.dumps(payload, ensure_ascii=False),
            sources=list(result.sources),
            ok=result.status == "ok",
            usage=d.usage,
            record=d,
        )


def _build(ctx: ToolContext) -> FusionTool:
    runtime: Runtime = ctx.runtime
    params = FusionParams.parse(ctx.parameters, ctx.field)
    # A panel that cannot be formed or a web tool with no backend is the request's
    # fault: say so before any model runs, naming the request's field.
    check_params(runtime, params, ctx.field)
    return FusionTool(runtime, params, ctx.request)


# Not offered inside a deliberation (one level deep); withdrawn once called in a turn;
# `tool_choice: "required"` means "deliberate on the user's question", once.
KIND = REGISTRY.register(
    ServerToolKind(C.FUSION_TOOL, _build, inner=False, once_per_turn=True, forced_by_required=True)
)
