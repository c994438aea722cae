"""A loopback OpenAI-compatible upstream in its own process, shared by the benchmarks.

It runs in a child process so that the benchmark process's CPU is the client's alone.

    with upstream_process() as base_url:                       # answers at once
    with upstream_process({"bench/a": 0.04}) as base_url:     # fixed latency per model
    with upstream_process(chaos=Chaos(seed=1)) as base_url:   # latencies 200-500 ms, faults

With no latencies every POST gets one precomputed response (the client benchmark). With
latencies, each answer is shaped by what was asked, so a whole `ask` can run against it:
a request with `response_format` is the judge (valid analysis JSON); one offering the
`fusion` tool with no tool result yet is the outer model's first turn (a fusion call);
anything else is answered in text, streamed as SSE when the request says `stream`.

With `chaos`, every model's latency is drawn uniformly from `chaos.latency_s` and a share
`chaos.fault_rate` of requests, chosen by a seeded RNG, get one of the FAULTS instead of
the answer (each kind equally likely): a 429 with `Retry-After: 1`; a 500 (the same body
asked again is then answered: "500 then success"); a hang (never answers); a trickle of
one byte a second; a response cut mid-way (a stream after its first chunk, a whole answer
after half its declared length); a connection reset (RST). GET /stats returns how many
requests were answered and how many of each fault were injected, and, for each tag
`[load N]` seen in a body where a fault was injected, each model's calls in order (`ok`
or the fault, `@stream` when the call was streamed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TAG = re.compile(rb"\[load (\d+)\]")
FAULTS = ("429", "500_then_ok", "hang", "trickle", "cut", "reset")


@dataclass(frozen=True)
class Chaos:
    """Per-request latency and injected faults for the whole upstream (see the docstring)."""

    seed: int = 1
    latency_s: tuple[float, float] = (0.2, 0.5)
    fault_rate: float = 0.05
    hang_s: float = 600.0  # a hung request ends only when its client leaves (or this passes)


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
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        last = users[-1].get("content") if users else None
        question = last if isinstance(last, str) and last else "Which is it?"
        call = {
            "id": "call_fusion",
            "type": "function",
            "function": {"name": "fusion", "arguments": json.dumps({"question": question})},
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


def _reset(request: Any) -> None:
    """Close the request's connection with a TCP RST (SO_LINGER 0), not a FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _serve(latencies: Mapping[str, float], chaos: Chaos | None = None) -> None:
    from aiohttp import web

    instant = _text("ok", "bench/model")
    rng = random.Random(chaos.seed if chaos else 0)
    stats: Counter[str] = Counter()
    failed_once: set[bytes] = set()  # bodies that got a 500: the next try of each succeeds
    # Per tag (`[load N]` in a body) and model, each call's outcome, so that a client can
    # tell which of its requests an injected fault can explain.
    history: dict[str, dict[str, list[str]]] = {}

    def fault_for(raw: bytes) -> str | None:
        if chaos is None:
            return None
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if digest in failed_once:
            failed_once.discard(digest)
            return None
        if rng.random() >= chaos.fault_rate:
            return None
        kind = rng.choice(FAULTS)
        if kind == "500_then_ok":
            failed_once.add(digest)
        return kind

    async def faulty(request: web.Request, kind: str, payload: bytes, stream: bool) -> Any:
        assert chaos is not None
        ctype = "text/event-stream" if stream else "application/json"
        if kind == "429":
            err = {"error": {"message": "rate limited (injected)", "code": 429}}
            return web.json_response(err, status=429, headers={"Retry-After": "1"})
        if kind == "500_then_ok":
            err = {"error": {"message": "internal error (injected)", "code": 500}}
            return web.json_response(err, status=500)
        if kind == "hang":
            await asyncio.sleep(chaos.hang_s)
            return web.json_response({"error": {"message": "hung (injected)"}}, status=504)
        if kind == "reset":
            _reset(request)
            return web.Response(status=500)  # never sent: the connection is gone
        headers = {"Content-Type": ctype}
        if not stream:
            headers["Content-Length"] = str(len(payload))
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        if kind == "trickle":
            with contextlib.suppress(ConnectionResetError):  # the client gave up
                for i in range(len(payload)):
                    await resp.write(payload[i : i + 1])
                    await asyncio.sleep(1.0)
            return resp
        # "cut": part of the answer, then the connection closes under it.
        part = payload[: payload.index(b"\n\n") + 2] if stream else payload[: len(payload) // 2]
        await resp.write(part)
        _reset(request)
        return resp

    async def chat(request: web.Request) -> Any:
        raw = await request.read()
        if not latencies and chaos is None:
            return web.Response(body=instant, content_type="application/json")
        body = json.loads(raw)
        kind = fault_for(raw)
        stream = bool(body.get("stream"))
        if chaos is not None:
            delay = rng.uniform(*chaos.latency_s)
        else:
            delay = latencies.get(str(body.get("model")), 0.0)
        if delay:
            await asyncio.sleep(delay)
        whole = answer(body)
        payload = b"".join(_as_stream(json.loads(whole))) if stream else whole
        stats[kind or "ok"] += 1
        tag = TAG.search(raw)
        if tag is not None:
            calls = history.setdefault(tag.group(1).decode(), {})
            calls.setdefault(str(body.get("model")), []).append(
                (kind or "ok") + ("@stream" if stream else "")
            )
        if kind is not None:
            return await faulty(request, kind, payload, stream)
        if not stream:
            return web.Response(body=whole, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(payload)
        return resp

    async def get_stats(request: web.Request) -> web.Response:
        faulted = {
            t: m
            for t, m in history.items()
            if any(not k.startswith("ok") for ks in m.values() for k in ks)
        }
        return web.json_response({"counts": dict(stats), "calls_by_tag": faulted})

    if chaos is not None:  # the injected faults are not the server's errors to log
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    app = web.Application()
    for prefix in ("/v1", "/api/v1"):
        app.router.add_post(prefix + "/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
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
def upstream_process(
    latencies: Mapping[str, float] | None = None, chaos: Chaos | None = None
) -> Iterator[str]:
    """Start the upstream in a child process; yield its OpenRouter-style base URL."""
    args = [json.dumps(dict(latencies or {}))]
    if chaos is not None:
        args.append(json.dumps(dataclasses.asdict(chaos)))
    proc = subprocess.Popen(
        [sys.executable, __file__, *args],
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
    _chaos = None
    if len(sys.argv) > 2:
        _fields = json.loads(sys.argv[2])
        _fields["latency_s"] = tuple(_fields["latency_s"])
        _chaos = Chaos(**_fields)
    asyncio.run(_serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}, _chaos))
