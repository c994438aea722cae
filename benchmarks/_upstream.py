"""A loopback OpenAI-compatible upstream in its own process, shared by the benchmarks.

It runs in a child process so that the benchmark process's CPU is the client's alone.

    with upstream_process() as base_url:                       # answers at once
    with upstream_process({"bench/a": 0.04}) as base_url:     # fixed latency per model

With no latencies every POST gets one precomputed response (the client benchmark). With
latencies, each answer is shaped by what was asked, so a whole `ask` can run against it:
a request with `response_format` is the judge (valid analysis JSON); one offering the
`fusion` tool with no tool result yet is the outer model's first turn (a fusion call);
anything else is answered in text. Non-streaming only: the benchmarks run without listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

ANALYSIS = {
    "consensus": ["Both approaches work."],
    "contradictions": [],
    "partial_coverage": [],
    "unique_insights": [],
    "blind_spots": [],
}
USAGE = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}


def _response(message: dict[str, Any], finish: str, model: str) -> bytes:
    return json.dumps(
        {
            "id": "gen-bench",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": USAGE,
        }
    ).encode()


def _text(content: str, model: str) -> bytes:
    return _response({"role": "assistant", "content": content}, "stop", model)


def answer(body: dict[str, Any]) -> bytes:
    """The response a panelist, judge or outer model would give to `body`."""
    model = str(body.get("model", ""))
    if "response_format" in body:
        return _text(json.dumps(ANALYSIS), model)
    offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    answered = any(m.get("role") == "tool" for m in body.get("messages") or [])
    if "fusion" in offered and not answered:
        call = {
            "id": "call_fusion",
            "type": "function",
            "function": {"name": "fusion", "arguments": json.dumps({"question": "Which is it?"})},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return _response(message, "tool_calls", model)
    return _text("A short answer from " + model + ".", model)


def _as_stream(whole: dict[str, Any]) -> list[bytes]:
    """A whole answer as the SSE a streaming server sends: the message in one delta, the
    finish, the usage, [DONE]."""
    choice = whole["choices"][0]
    base = {k: whole[k] for k in ("id", "object", "created", "model")}
    base["object"] = "chat.completion.chunk"
    delta = {k: v for k, v in choice["message"].items() if v is not None}
    for i, call in enumerate(delta.get("tool_calls") or []):
        call["index"] = i
    chunks = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
        {**base, "choices": [], "usage": whole["usage"]},
    ]
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


async def _serve(latencies: Mapping[str, float]) -> None:
    from aiohttp import web

    instant = _text("ok", "bench/model")

    async def chat(request: web.Request) -> web.Response:
        raw = await request.read()
        if not latencies:
            return web.Response(body=instant, content_type="application/json")
        body = json.loads(raw)
        delay = latencies.get(str(body.get("model")), 0.0)
        if delay:
            await asyncio.sleep(delay)
        whole = answer(body)
        if not body.get("stream"):
            return web.Response(body=whole, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"".join(_as_stream(json.loads(whole))))
        return resp

    app = web.Application()
    for prefix in ("/v1", "/api/v1"):
        app.router.add_post(prefix + "/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()


def _die_with_parent() -> None:
    sys.stdin.read()  # EOF: the benchmark ended or died; do not outlive it
    os._exit(0)


@contextlib.contextmanager
def upstream_process(latencies: Mapping[str, float] | None = None) -> Iterator[str]:
    """Start the upstream in a child process; yield its OpenRouter-style base URL."""
    proc = subprocess.Popen(
        [sys.executable, __file__, json.dumps(dict(latencies or {}))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"upstream process did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}/api/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    threading.Thread(target=_die_with_parent, daemon=True).start()
    asyncio.run(_serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
