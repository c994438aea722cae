"""`parley mcp` over stdio, driven by the official MCP client against a fake upstream: the
tools it lists, `deliberate` complete and degraded (a failing member, a hanging one past
the deadline), a bad argument, progress in order, the handle flow and the resource."""

from __future__ import annotations

import itertools
import json
import time

from click.testing import CliRunner
from mcp.types import TextResourceContents

from cli_kit import any_model
from mcp_kit import HANGING, REFUSING, failed_models, stdio_session, structured, text_of
from parley.cli import cli
from parley.config import load_settings
from parley.store import LogStore
from parley.testing.models import FunctionModel
from parley.testing.upstream import FakeUpstream

TOOLS = {
    "deliberate",
    "deliberation_start",
    "deliberation_result",
    "deliberation_cancel",
    "parley_status",
}


async def test_lists_the_tools_and_deliberates_to_a_complete_logged_result() -> None:
    async with FakeUpstream(default=any_model()) as up, stdio_session(up) as s:
        listed = await s.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        [tool] = [t for t in listed.tools if t.name == "deliberate"]
        assert tool.input_schema["required"] == ["question"]
        assert tool.output_schema is not None
        assert {"status", "analysis"} <= set(tool.output_schema["properties"])
        out = structured(await s.call_tool("deliberate", {"question": "Why is the sky blue?"}))
    assert out["status"] == "complete"
    assert set(out["analysis"]) >= {"consensus", "contradictions", "blind_spots"}
    assert "Rayleigh" in out["synthesis"]
    assert out["answered"] == ["vendor/a", "vendor/b"] and out["failed_models"] == []
    assert out.get("responses") is None  # the summary leaves the full text to the resource
    [entry] = LogStore(load_settings().log_path()).recent()
    assert entry.source == "mcp" and entry.id == out["log_id"]
    [listed] = json.loads(CliRunner().invoke(cli, ["logs", "--json"]).stdout)
    assert listed["source"] == "mcp"


async def test_a_failing_member_makes_it_degraded_with_the_reason() -> None:
    async with (
        FakeUpstream({"vendor/b": REFUSING}, default=any_model()) as up,
        stdio_session(up) as s,
    ):
        out = structured(await s.call_tool("deliberate", {"question": "Why?"}))
    assert out["status"] == "degraded"
    assert out["answered"] == ["vendor/a"]
    assert "overloaded" in failed_models(out)["vendor/b"]


async def test_a_hanging_member_is_cancelled_at_the_deadline() -> None:
    async with (
        FakeUpstream({"vendor/b": HANGING}, default=any_model()) as up,
        stdio_session(up) as s,
    ):
        started = time.monotonic()
        out = structured(await s.call_tool("deliberate", {"question": "Why?", "deadline_s": 2}))
        took = time.monotonic() - started
    assert out["status"] == "degraded"
    assert "deadline of 2 s" in failed_models(out)["vendor/b"]
    assert out["analysis"] is not None  # the judge worked from the member that answered
    assert took < 20  # the deadline, not the upstream's own timeouts


async def test_a_bad_argument_is_a_tool_error_naming_it() -> None:
    async with FakeUpstream(default=any_model()) as up, stdio_session(up) as s:
        res = await s.call_tool("deliberate", {"question": "Why?", "max_tool_calls": 99})
        assert res.is_error and "max_tool_calls" in text_of(res)
        res = await s.call_tool("deliberate", {"question": "Why?", "preset": "nope"})
        assert res.is_error and "nope" in text_of(res)
        res = await s.call_tool("deliberation_start", {"question": " "})
        assert res.is_error and "question" in text_of(res)


async def test_progress_arrives_in_order_out_of_n_plus_two() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with FakeUpstream(default=any_model()) as up, stdio_session(up) as s:
        await s.call_tool("deliberate", {"question": "Why?"}, progress_callback=heard)
    counts = [p for p, _, _ in seen]
    assert all(a < b for a, b in itertools.pairwise(counts)) and counts[-1] == 4
    assert {t for _, t, _ in seen} == {4}
    messages = [m or "" for _, _, m in seen]
    assert messages[-1] == "analysis finished"
    assert sum("started" in m for m in messages[:2]) == 2


async def test_the_handle_flow_long_polls_reads_the_resource_and_cancels() -> None:
    async with (
        FakeUpstream({"vendor/c": HANGING}, default=any_model()) as up,
        stdio_session(up) as s,
    ):
        started = structured(await s.call_tool("deliberation_start", {"question": "Why?"}))
        did = started["deliberation_id"]
        assert len(did) >= 22  # 128 bits, url-safe
        out = structured(
            await s.call_tool("deliberation_result", {"deliberation_id": did, "wait_s": 30})
        )
        assert out["status"] == "complete"
        read = await s.read_resource(f"parley://deliberations/{did}")
        [content] = read.contents
        assert isinstance(content, TextResourceContents)
        full = json.loads(content.text)
        assert [r["model"] for r in full["responses"]] == ["vendor/a", "vendor/b"]
        read = await s.read_resource(f"parley://deliberations/{did}/responses/1")
        [member] = read.contents
        assert isinstance(member, TextResourceContents)
        assert member.text == full["responses"][1]["content"]

        slow = {"question": "Why?", "models": ["vendor/a", "vendor/c"]}
        did = structured(await s.call_tool("deliberation_start", slow))["deliberation_id"]
        snap = structured(
            await s.call_tool("deliberation_result", {"deliberation_id": did, "wait_s": 0})
        )
        assert snap["status"] == "running" and snap["members"] in (0, 2)
        cancel = {"deliberation_id": did}
        assert structured(await s.call_tool("deliberation_cancel", cancel))["cancelled"]
        res = structured(await s.call_tool("deliberation_result", {**cancel, "wait_s": 5}))
        assert res["status"] == "cancelled"
        res = await s.call_tool("deliberation_result", {"deliberation_id": "x" * 22})
        assert res.is_error and "deliberation_id" in text_of(res)


async def test_status_names_the_presets_and_the_deadline() -> None:
    async with FakeUpstream(default=any_model()) as up, stdio_session(up) as s:
        out = structured(await s.call_tool("parley_status", {}))
    assert out["deadline_s"] == 50
    assert out["default_preset"] in out["presets"]
    assert isinstance(out["offline_models"], bool)


async def test_a_judge_that_fails_makes_it_partial() -> None:
    judge = FunctionModel(lambda req: "not an analysis")
    async with (
        FakeUpstream({"vendor/judge": judge}, default=any_model()) as up,
        stdio_session(up) as s,
    ):
        out = structured(await s.call_tool("deliberate", {"question": "Why?"}))
    assert out["status"] == "partial" and out["analysis"] is None
    assert "judge" in out["error"]
