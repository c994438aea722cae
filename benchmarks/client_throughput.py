"""Parley's upstream client path against a bare aiohttp client, 64 requests in flight.

Both drive the same instant loopback upstream (a child process, so this process's CPU is
the client's alone), in alternating rounds of one run so that a noisy machine hits both
alike. Parley's path is a session from `parley.http.new_session()` driving
`ChatCompletionsModel.complete`; the baseline is a default `aiohttp.ClientSession` posting
the same body with `json=` and decoding the reply with `resp.json()`.

    python benchmarks/client_throughput.py        # last line: client_ratio=<x> (target >= 0.5)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from _upstream import upstream_process  # benchmarks/ is on sys.path when run as a script
from parley.http import new_session
from parley.models.http import ChatCompletionsModel

IN_FLIGHT = 64
ROUNDS = 3
ROUND_S = 3.0
WARMUP_S = 0.5
BODY: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Summarise the case for and against nuclear power. " * 4},
    ],
    "temperature": 0.7,
    "max_completion_tokens": 512,
}
HEADERS = {"x-openrouter-fusion-depth": "1"}

Call = Callable[[], Awaitable[Any]]


async def closed_loop(call: Call, seconds: float) -> tuple[int, float, float]:
    """(completed requests, wall seconds, CPU seconds) with IN_FLIGHT workers looping."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return done, time.perf_counter() - t0, time.process_time() - cpu0


async def main() -> float:
    with upstream_process() as base_url:
        url = base_url + "/chat/completions"
        parley_session = new_session()
        model = ChatCompletionsModel(
            parley_session,
            base_url=base_url,
            upstream_model="bench/model",
            model_id="bench/model",
            api_key="sk-bench-not-a-key",
        )
        bare = aiohttp.ClientSession()
        bare_headers = {**HEADERS, "Authorization": "Bearer sk-bench-not-a-key"}
        bare_body = {**BODY, "model": "bench/model", "stream": False}

        async def parley_call() -> Any:
            out = await model.complete(BODY, HEADERS)
            assert out.content, out

        async def bare_call() -> Any:
            async with bare.post(url, json=bare_body, headers=bare_headers) as resp:
                out = await resp.json()
            assert out["choices"], out

        sides: dict[str, Call] = {"aiohttp": bare_call, "parley": parley_call}
        totals = {name: [0, 0.0, 0.0] for name in sides}
        try:
            for call in sides.values():
                await closed_loop(call, WARMUP_S)  # connections open, code paths warm
            for _ in range(ROUNDS):
                for name, call in sides.items():
                    n, wall, cpu = await closed_loop(call, ROUND_S)
                    totals[name][0] += n
                    totals[name][1] += wall
                    totals[name][2] += cpu
        finally:
            await parley_session.close()
            await bare.close()

    rates = {}
    for name, (n, wall, cpu) in totals.items():
        rates[name] = n / wall
        print(
            f"{name:8s} {IN_FLIGHT} in flight: {rates[name]:8.0f} req/s, "
            f"client CPU {cpu / n * 1e6:6.0f} us/req ({n} requests)"
        )
    ratio = rates["parley"] / rates["aiohttp"]
    print(json.dumps({"in_flight": IN_FLIGHT, "rounds": ROUNDS, "round_s": ROUND_S}))
    print(f"client_ratio={ratio:.3f}")
    return ratio


if __name__ == "__main__":
    asyncio.run(main())
