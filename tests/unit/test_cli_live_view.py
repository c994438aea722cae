"""The live panel view, rendered to a captured terminal from a real deliberation's events."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from parley import FunctionModel, Parley, tool_call
from parley.cli.view import LiveView, PlainProgress, ProgressState
from parley.config import load_settings
from parley.errors import UpstreamError
from parley.fusion import events as ev
from parley.testing.models import FakeRequest
from parley.testing.web import FakeFetcher, FakeSearch


def _terminal() -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, force_terminal=True, width=120, color_system=None), buf


def _searcher(req: FakeRequest) -> object:
    if req.tools and req.step == 0:
        return tool_call("web_search", {"query": "why is the sky blue"})
    return "Rayleigh scattering, says the web."


def _rate_limited(req: FakeRequest) -> str:
    raise UpstreamError("rate limited, slow down", 429)


async def test_live_view_shows_each_member_then_judge_then_answer(
    models: dict[str, FunctionModel],
) -> None:
    models["vendor/c"] = FunctionModel(_searcher)
    models["vendor/d"] = FunctionModel(_rate_limited)
    settings = load_settings(
        overrides={"panel": ["vendor/a", "vendor/c", "vendor/d"], "judge": "vendor/judge"}
    )
    console, buf = _terminal()
    view = LiveView(console, "vendor/outer", animate=False)
    frames: list[str] = []

    def on_event(event: ev.Event) -> None:
        view(event)
        probe = Console(file=StringIO(), width=120, color_system=None)
        probe.print(view.render())
        frames.append(probe.file.getvalue())  # type: ignore[attr-defined]

    async with Parley(
        settings=settings, models=models, search=FakeSearch(), fetcher=FakeFetcher({})
    ) as p:
        await p.ask("Why is the sky blue?", model="vendor/outer", on_event=on_event)
    view.stop()

    seen = "\n".join(frames)
    assert 'searching "why is the sky blue"' in seen
    assert "writing · " in seen and "tokens" in seen
    assert "comparing the answers" in seen
    final = {
        # an icon (✓, ✗ or a spinner frame) stands before the name on member rows
        line.split()[1] if len(line.split()[0]) == 1 else line.split()[0]: line
        for line in frames[-1].splitlines()
        if line.strip()
    }
    assert "Panel (3/3)" in frames[-1]
    assert final["vendor/a"].startswith("✓") and "done in" in final["vendor/a"]
    assert final["vendor/c"].startswith("✓")
    assert final["vendor/d"].startswith("✗")
    assert "failed rate limited, slow down (429)" in final["vendor/d"]
    assert final["Judge"].startswith("✓") and "vendor/judge done" in final["Judge"]
    assert "vendor/outer writing the answer" in final["Answer"]
    # The terminal got the live frames, and after stop() the last one stays on screen.
    screen = buf.getvalue()
    assert "\x1b[" in screen  # cursor movement: a live display, not appended lines
    assert "answer below" in screen


def test_state_lines_for_each_kind_of_progress() -> None:
    state = ProgressState("outer")
    state.apply(ev.PanelAdded("m", 0))
    assert state.panel[0].describe() == "waiting"
    state.apply(ev.PanelToolCall("m", 0, "web_fetch", {"url": "https://example.org/x"}))
    assert state.panel[0].describe() == "fetching https://example.org/x"
    for _ in range(3):
        state.apply(ev.PanelDelta("m", 0, "w "))
    assert state.panel[0].describe() == "writing · 3 tokens"
    state.apply(ev.PanelCompleted("m", 0, "w w w", 2.04))
    assert state.panel[0].describe() == "done in 2.0 s · 3 tokens"


def test_plain_progress_writes_lines_not_frames() -> None:
    buf = StringIO()
    progress = PlainProgress(buf, "outer")
    progress(ev.PanelAdded("m", 0))
    progress(ev.PanelDelta("m", 0, "a "))
    progress(ev.PanelDelta("m", 0, "b "))
    progress(ev.PanelFailed("m", 0, "boom", 500, 0.1))
    assert buf.getvalue().splitlines() == ["m: waiting", "m: writing", "m: failed boom (500)"]


def test_ctrl_c_leaves_running_lines_marked_stopped() -> None:
    console, buf = _terminal()
    view = LiveView(console, "outer", animate=False)
    view(ev.PanelAdded("a", 0))
    view(ev.PanelAdded("b", 1))
    view(ev.PanelCompleted("a", 0, "text", 1.0))
    view.stop(interrupted=True)
    states = [line.state for line in view.state.panel]
    assert states == ["done", "stopped"]
    assert view.state.answer.state == "stopped"
    assert "■" in buf.getvalue()
