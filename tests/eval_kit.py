"""The fake upstream the `parley eval` CLI tests aim at: members that answer by script, a
judge with a canned analysis, and an outer model that calls fusion and then writes the
fused answer the test decides (`#### <answer>`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from parley.testing import ANALYSIS_JSON, FunctionModel, tool_call
from parley.testing.models import FakeRequest
from parley.testing.upstream import FakeUpstream


def outer_model(answer: Callable[[str], Any]) -> FunctionModel:
    """Calls fusion on the user's question, then answers `#### answer(question)`."""

    def reply(req: FakeRequest) -> Any:
        if "fusion" in req.tools and not req.tool_results:
            return tool_call("fusion", {"question": req.last_user})
        # Over HTTP the fusion result may come back as a user message: the question is first.
        question = next(m["content"] for m in req.messages if m.get("role") == "user")
        return f"#### {answer(question)}"

    return FunctionModel(reply)


def eval_upstream(
    members: Mapping[str, FunctionModel], answer: Callable[[str], Any]
) -> FakeUpstream:
    """`members` as vendor/... models, plus vendor/judge and vendor/outer."""
    return FakeUpstream(
        {
            **members,
            "vendor/judge": FunctionModel(lambda r: ANALYSIS_JSON),
            "vendor/outer": outer_model(answer),
        }
    )


def scripted(says: Mapping[str, Mapping[str, str]]) -> dict[str, FunctionModel]:
    """Members answering each question as `says[model][question]` scripts."""
    return {m: FunctionModel(lambda r, t=t: t[r.last_user]) for m, t in says.items()}
