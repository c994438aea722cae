"""Ctrl-C mid-panel: upstream calls stop, what finished is logged, the exit code says so."""

from __future__ import annotations

import asyncio
import queue
import signal
import threading
from typing import IO

from cli_kit import any_model, any_model_reply, cli_env, spawn_parley
from parley.config import load_settings
from parley.store import LogStore
from parley.testing.models import FakeRequest, FunctionModel
from parley.testing.upstream import FakeUpstream, ThreadedUpstream


def _lines(stream: IO[str]) -> queue.Queue[str | None]:
    """Lines of a pipe, read in a thread, so the test can wait with a bound; None at the end."""
    q: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def test_ctrl_c_mid_panel_logs_the_finished_answers() -> None:
    started = threading.Event()
    release = threading.Event()

    hung_up = threading.Event()

    async def slow(req: FakeRequest) -> str:
        started.set()
        try:
            await asyncio.to_thread(release.wait)  # held until the test ends
        except asyncio.CancelledError:
            hung_up.set()  # the CLI closed the connection: its upstream call was cancelled
            raise
        return "too late"

    upstream = FakeUpstream({"vendor/b": FunctionModel(slow)}, default=any_model())
    with (
        ThreadedUpstream(upstream) as up,
        spawn_parley(cli_env(up.base_url), "ask", "Why is the sky blue?") as proc,
    ):
        try:
            assert proc.stderr is not None and proc.stdout is not None
            progress = _lines(proc.stderr)
            # Wait, on events rather than time, until vendor/a has finished and vendor/b's
            # request is being held by the fake upstream.
            while True:
                line = progress.get(timeout=60)
                assert line is not None, "the CLI ended before the panel answered"
                if line.startswith("vendor/a: done"):
                    break
            assert started.wait(timeout=60)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)  # not communicate(): the pump thread owns stderr
            out = proc.stdout.read()
            rest = []
            while (more := progress.get(timeout=60)) is not None:
                rest.append(more)
            assert hung_up.wait(timeout=60)
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, rest
    assert any(line.startswith("Interrupted; what finished is logged as") for line in rest), rest
    assert "Traceback" not in "\n".join(rest)
    assert out == ""
    [entry] = LogStore(load_settings().log_path()).recent()
    assert entry.status == "interrupted"
    assert entry.question == "Why is the sky blue?"
    [d] = entry.deliberations
    assert d.status == "interrupted"
    assert d.panel == ["vendor/a", "vendor/b"]
    assert [(r.model, r.content) for r in d.responses] == [
        ("vendor/a", any_model_reply_text("vendor/a"))
    ]


def any_model_reply_text(model: str) -> str:
    return str(any_model_reply(FakeRequest({"model": model, "messages": []}, {}, 0, False)))
