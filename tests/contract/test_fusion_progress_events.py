"""Contract section 7, panel progress: a deliberation's events, in order, named as
OpenRouter names them (`response.fusion_call.*`) for those who ask for them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from contract_kit import (
    LIBRARY,
    PANEL,
    QUESTION,
    REQUEST_WAYS,
    USAGE,
    answer,
    ask_fusion,
    failing,
    fleet,
    make_runtime,
    panel_models,
)
from gateway_kit import fixed, progress_events, running, sse_events
from parley.client import Parley
from parley.fusion import events as ev
from parley.fusion.run import Deliberation
from parley.models.base import Turn
from parley.testing.models import FunctionModel
from parley.wire.fusion_events import IN_PROGRESS, to_wire

WIRE_TYPES = {
    ev.PanelAdded: "response.fusion_call.panel.added",
    ev.PanelDelta: "response.fusion_call.panel.delta",
    ev.PanelCompleted: "response.fusion_call.panel.completed",
    ev.PanelFailed: "response.fusion_call.panel.failed",
    ev.AnalysisInProgress: "response.fusion_call.analysis.in_progress",
    ev.AnalysisCompleted: "response.fusion_call.analysis.completed",
    ev.FusionCompleted: "response.fusion_call.completed",
}
TEXT = "Rayleigh scattering favours short wavelengths, so the sky looks blue."


async def _events(d: Deliberation) -> list[ev.Event]:
    return [e async for e in d.events()]


async def test_events_follow_the_run_in_order() -> None:
    models = panel_models(a=answer(TEXT), b=failing(500, "boom"))
    d = Deliberation(make_runtime(models), QUESTION)
    events = await _events(d)
    kinds = [type(e) for e in events]
    assert kinds[:2] == [ev.PanelAdded, ev.PanelAdded]
    assert {(e.model, e.index) for e in events[:2] if isinstance(e, ev.PanelAdded)} == {
        ("vendor/a", 0),
        ("vendor/b", 1),
    }
    assert kinds[-3:] == [ev.AnalysisInProgress, ev.AnalysisCompleted, ev.FusionCompleted]
    middle = events[2:-3]
    done = [e for e in middle if isinstance(e, ev.PanelCompleted)]
    failed = [e for e in middle if isinstance(e, ev.PanelFailed)]
    assert [(e.model, e.content) for e in done] == [("vendor/a", TEXT)]
    assert [(e.model, e.error, e.status_code) for e in failed] == [("vendor/b", "boom", 500)]
    deltas = [e for e in middle if isinstance(e, ev.PanelDelta)]
    assert len(deltas) > 1
    assert middle.index(done[0]) > max(middle.index(x) for x in deltas)
    last = events[-1]
    assert isinstance(last, ev.FusionCompleted) and last.result is d.result


async def test_panelist_text_is_aggregated_not_kept_per_delta() -> None:
    d = Deliberation(make_runtime(panel_models(a=answer(TEXT))), QUESTION)
    events = await _events(d)
    deltas = [e.delta for e in events if isinstance(e, ev.PanelDelta) and e.model == "vendor/a"]
    assert len(deltas) == len(TEXT.split(" "))
    assert "".join(deltas) == TEXT
    assert d.result is not None and d.result.responses[0].content == TEXT
    assert not _holds_deltas(vars(d))


def _holds_deltas(value: Any, depth: int = 0) -> bool:
    """Whether any PanelDelta sits in the deliberation's state (looked at two levels deep)."""
    if isinstance(value, ev.PanelDelta):
        return True
    if depth > 2:
        return False
    if isinstance(value, dict):
        return any(_holds_deltas(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(_holds_deltas(v, depth + 1) for v in value)
    return False


async def test_a_run_without_listeners_reports_nothing_and_still_streams_upstream() -> None:
    # Every call streams from its upstream (a silent one is noticed in seconds), whether
    # anyone listens or not; with no listener nothing is reported as it goes.
    a = answer(TEXT)
    d = Deliberation(make_runtime(panel_models(a=a)), QUESTION)
    result = await d.run()
    assert [r.stream for r in a.requests] == [True]
    assert result.status == "ok" and result.responses[0].content == TEXT


async def test_analysis_completed_carries_the_analysis_or_the_failure_reason() -> None:
    ok = await _events(Deliberation(make_runtime(panel_models()), QUESTION))
    bad = await _events(Deliberation(make_runtime(panel_models(judge=answer("no json"))), QUESTION))
    done_ok = next(e for e in ok if isinstance(e, ev.AnalysisCompleted))
    done_bad = next(e for e in bad if isinstance(e, ev.AnalysisCompleted))
    assert done_ok.analysis is not None and done_ok.failure_reason is None
    assert done_bad.analysis is None and done_bad.failure_reason == "judge_not_valid_json"


async def test_all_failed_has_no_analysis_events() -> None:
    models = panel_models(a=failing(429, "slow"), b=failing(429, "slow"))
    events = await _events(Deliberation(make_runtime(models), QUESTION))
    assert not any(isinstance(e, ev.AnalysisInProgress | ev.AnalysisCompleted) for e in events)
    assert isinstance(events[-1], ev.FusionCompleted)
    assert events[-1].result.failure_reason == "rate_limited"


async def test_events_use_openrouter_names_on_the_wire() -> None:
    events = await _events(
        Deliberation(make_runtime(panel_models(b=failing(402, "pay"))), QUESTION)
    )
    seen = {type(e) for e in events}
    assert seen == set(WIRE_TYPES)
    for n, e in enumerate(events):
        wire = to_wire(e, "fc_1", n)
        assert wire["type"] == WIRE_TYPES[type(e)]
        assert (wire["item_id"], wire["sequence_number"], wire["output_index"]) == ("fc_1", n, 0)
    failed = next(e for e in events if isinstance(e, ev.PanelFailed))
    assert to_wire(failed, "fc_1", 0)["status_code"] == 402


def test_events_are_immutable() -> None:
    e = ev.PanelDelta("m", 0, "x")
    assert dataclasses.is_dataclass(e)
    try:
        e.delta = "y"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("events should be frozen")


# --- over the ways in: the events as the wire names them --------------------------------------

EVENTS_HEADER = {"x-parley-fusion-events": "1"}


async def progress(
    way: str, models: Mapping[str, FunctionModel], request: dict[str, Any]
) -> list[dict[str, Any]]:
    """The fusion events of a request, in wire form: the library's typed events through
    the one translator, the gateway's as its stream sends them (asked for by header)."""
    if way == LIBRARY:
        heard: list[Any] = []
        async with Parley(models=models) as p:
            await p.chat(request, on_event=heard.append)
        fusion = [e for e in heard if isinstance(e, ev.FusionEvent)]
        return [to_wire(e, "fc_1", n) for n, e in enumerate(fusion)]
    async with running(models) as gw:
        body = {**request, "stream": True}
        return progress_events(await sse_events(gw.v1 + "/chat/completions", body, EVENTS_HEADER))


def thinker(thought: str, text: str) -> FunctionModel:
    return FunctionModel(
        lambda req: Turn(content=text, reasoning=thought, finish_reason="stop", usage=USAGE)
    )


@pytest.mark.parametrize("way", REQUEST_WAYS)
async def test_panel_reasoning_is_progress_and_the_answer_is_the_text(way: str) -> None:
    models = fleet(a=thinker("Considering both sides", "A: blue."))
    got = await progress(way, models, ask_fusion(analysis_models=PANEL, model="vendor/judge"))
    kinds = [e["type"] for e in got]
    (thought,) = [e for e in got if e["type"] == "response.fusion_call.panel.reasoning.delta"]
    assert (thought["model"], thought["delta"]) == ("vendor/a", "Considering both sides")
    assert {"item_id", "output_index", "sequence_number"} <= set(thought)
    done = {e["model"]: e["content"] for e in got if e["type"].endswith("panel.completed")}
    assert done["vendor/a"] == "A: blue."
    assert kinds.index(thought["type"]) < kinds.index("response.fusion_call.panel.completed")
    seqs = [e["sequence_number"] for e in got]
    assert len(set(seqs)) == len(seqs)


REQUIRED = {
    IN_PROGRESS: set(),
    "response.fusion_call.panel.added": {"model"},
    "response.fusion_call.panel.delta": {"model", "delta"},
    "response.fusion_call.panel.completed": {"model", "content"},
    "response.fusion_call.panel.failed": {"model", "error"},
    "response.fusion_call.analysis.in_progress": {"analyst_model", "judge_model"},
    "response.fusion_call.analysis.completed": {"analysis"},
    "response.fusion_call.completed": set(),
}


@pytest.mark.parametrize("judge_ok", [True, False])
async def test_the_gateway_stream_carries_openrouters_required_fields(judge_ok: bool) -> None:
    """Only a stream has an `in_progress` event first (the library has no stream item)."""
    models = fleet(b=failing(429, "busy"))
    if not judge_ok:
        models["vendor/judge"] = fixed("not json at all")
    async with running(models) as gw:
        body = {**ask_fusion(forced=False), "stream": True}
        events = await sse_events(gw.v1 + "/chat/completions", body, EVENTS_HEADER)
    got = progress_events(events)
    kinds = [e["type"] for e in got]
    assert kinds[0] == IN_PROGRESS
    assert kinds[-1] == "response.fusion_call.completed"
    assert "response.fusion_call.panel.failed" in kinds
    assert ("response.fusion_call.analysis.completed" in kinds) is judge_ok
    for e in got:
        assert {"type", "item_id", "output_index", "sequence_number"} <= set(e)
        assert REQUIRED[e["type"]] <= set(e), e
    assert [e["sequence_number"] for e in got] == sorted({e["sequence_number"] for e in got})
    if not judge_ok:
        assert got[-1]["failure_reason"] == "judge_not_valid_json"
    assert got[-1]["failed_models"][0]["status_code"] == 429
