"""The gateway's passthrough hop against the floor for a Python hop, and against LiteLLM.

One run, one fake upstream answering every call in 20 ms (a child process), one
closed-loop load generator (this process), and each proxy in its own process:

  direct    the upstream itself (the reference the hops are measured against)
  minimal   Starlette + one shared aiohttp session, no validation (_minimal_proxy.py)
  parley    `parley serve`, a plain request with no server tools (the passthrough path)
  litellm   LiteLLM's proxy, one worker, master key, no database, if it is installed
            (a benchmark-only dependency: pip install 'parley-llm[bench]'; or set
            LITELLM_BIN to a `litellm` executable in another environment)

At 1 in flight each hop's added latency is its p50 / p99 minus the upstream's own, rounds
alternating so that a noisy machine hits every target alike; at 64 in flight, req/s.

    python benchmarks/gateway_passthrough.py
    # targets: added p50 <= 2 ms; parley/minimal at 64 >= 0.6; parley/litellm at 64 >= 10
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _upstream import upstream_process  # noqa: E402

MODEL = "bench/model"
LATENCY_S = 0.020
SERIAL_ROUNDS = 3
SERIAL_PER_ROUND = 60
IN_FLIGHT = 64
BURST_ROUNDS = 2
BURST_S = 2.5
LITELLM_KEY = "sk-bench-master"
BODY = json.dumps(
    {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Summarise the case for and against nuclear power."},
        ],
        "temperature": 0.7,
        "max_completion_tokens": 256,
    }
).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], seconds: float, headers: dict[str, str]
) -> None:
    deadline = time.monotonic() + seconds
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        req = urllib.request.Request(
            url, data=BODY, headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {seconds:.0f} s")


@contextlib.contextmanager
def process(
    cmd: list[str],
    env: dict[str, str],
    url: str,
    ready_s: float,
    headers: dict[str, str] | None = None,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> Iterator[str]:
    """Run `cmd` until the block ends; yield `url` once a POST of BODY to it answers 200.
    `on_start` is given the process (its pid, for figures read from /proc)."""
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if on_start is not None:
        on_start(proc)
    try:
        try:
            wait_ready(url, proc, ready_s, headers or {})
        except RuntimeError as exc:
            tail = Path(log.name).read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{cmd[0]}: {exc}\n{tail}") from None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


async def serial(
    session: aiohttp.ClientSession, url: str, n: int, headers: dict[str, str]
) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url, data=BODY, headers=headers) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out.append(time.perf_counter() - t0)
    return out


async def burst(
    session: aiohttp.ClientSession, url: str, seconds: float, headers: dict[str, str]
) -> tuple[int, float, list[float]]:
    done = 0
    lat: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            async with session.post(url, data=BODY, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{url}: HTTP {resp.status}")
            lat.append(time.perf_counter() - t0)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return done, time.perf_counter() - t0, lat


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def measure(targets: dict[str, tuple[str, dict[str, str]]]) -> dict[str, dict[str, Any]]:
    res: dict[str, dict[str, Any]] = {
        n: {"serial": [], "done": 0, "wall": 0.0, "lat": []} for n in targets
    }
    conn = aiohttp.TCPConnector(limit=0)
    headers_base = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=conn) as session:
        for url, hdrs in targets.values():  # warm every path and connection
            await serial(session, url, 10, {**headers_base, **hdrs})
        for _ in range(SERIAL_ROUNDS):
            for name, (url, hdrs) in targets.items():
                res[name]["serial"] += await serial(
                    session, url, SERIAL_PER_ROUND, {**headers_base, **hdrs}
                )
        for _ in range(BURST_ROUNDS):
            for name, (url, hdrs) in targets.items():
                if name == "direct":
                    continue
                done, wall, lat = await burst(session, url, BURST_S, {**headers_base, **hdrs})
                res[name]["done"] += done
                res[name]["wall"] += wall
                res[name]["lat"] += lat
    return res


def litellm_bin() -> str | None:
    return os.environ.get("LITELLM_BIN") or shutil.which("litellm")


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    base_env = {
        **os.environ,
        "PARLEY_CONFIG": str(scratch / "config.toml"),
        "PARLEY_KEYS": str(scratch / "keys.json"),
    }
    base_env.pop("PARLEY_API_KEYS", None)
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(upstream_process({MODEL: LATENCY_S}))
        targets: dict[str, tuple[str, dict[str, str]]] = {
            "direct": (upstream + "/chat/completions", {})
        }
        port = free_port()
        targets["minimal"] = (
            stack.enter_context(
                process(
                    [sys.executable, str(HERE / "_minimal_proxy.py"), str(port), upstream],
                    base_env,
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    30,
                )
            ),
            {},
        )
        port = free_port()
        targets["parley"] = (
            stack.enter_context(
                process(
                    [
                        sys.executable,
                        "-m",
                        "parley",
                        "serve",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    {**base_env, "OPENROUTER_BASE_URL": upstream},
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    30,
                )
            ),
            {},
        )
        litellm = litellm_bin()
        litellm_note = ""
        if litellm is None:
            litellm_note = "not installed (pip install 'parley-llm[bench]' or set LITELLM_BIN)"
        else:
            port = free_port()
            cfg = Path(tempfile.mkdtemp()) / "litellm.yaml"
            cfg.write_text(
                json.dumps(
                    {
                        "model_list": [
                            {
                                "model_name": MODEL,
                                "litellm_params": {
                                    "model": f"openai/{MODEL}",
                                    "api_base": upstream,
                                    "api_key": "sk-fake",
                                },
                            }
                        ],
                        "general_settings": {"master_key": LITELLM_KEY},
                        "litellm_settings": {"telemetry": False},
                    }
                )
            )
            auth = {"Authorization": f"Bearer {LITELLM_KEY}"}
            env = {
                **base_env,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_LOG": "ERROR",
                "DISABLE_SCHEMA_UPDATE": "true",
            }
            try:
                targets["litellm"] = (
                    stack.enter_context(
                        process(
                            [
                                litellm,
                                "--config",
                                str(cfg),
                                "--port",
                                str(port),
                                "--num_workers",
                                "1",
                            ],
                            env,
                            f"http://127.0.0.1:{port}/v1/chat/completions",
                            120,
                            auth,
                        )
                    ),
                    auth,
                )
            except RuntimeError as exc:
                litellm_note = f"did not start: {exc}"
        res = asyncio.run(measure(targets))

    d50, d99 = pct(res["direct"]["serial"], 0.5), pct(res["direct"]["serial"], 0.99)
    print(
        f"upstream latency {LATENCY_S * 1000:.0f} ms; {SERIAL_ROUNDS * SERIAL_PER_ROUND} serial "
        f"calls per target; {IN_FLIGHT} in flight for {BURST_ROUNDS} x {BURST_S} s"
    )
    print(
        f"{'target':8} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8} "
        f"{'req/s@64':>9} {'p50@64':>8} {'p99@64':>8}"
    )
    rps: dict[str, float] = {}
    for name, r in res.items():
        p50, p99 = pct(r["serial"], 0.5), pct(r["serial"], 0.99)
        line = f"{name:8} {p50:8.2f} {p99:8.2f} {p50 - d50:8.2f} {p99 - d99:8.2f}"
        if r["wall"]:
            rps[name] = r["done"] / r["wall"]
            line += f" {rps[name]:9.0f} {pct(r['lat'], 0.5):8.1f} {pct(r['lat'], 0.99):8.1f}"
        print(line)
    if litellm_note:
        print(f"litellm: {litellm_note}")
    added = pct(res["parley"]["serial"], 0.5) - d50
    print(f"parley_added_p50_ms={added:.2f}")
    print(f"minimal_added_p50_ms={pct(res['minimal']['serial'], 0.5) - d50:.2f}")
    if "litellm" in rps:
        print(f"parley_vs_litellm_64={rps['parley'] / rps['litellm']:.1f}")
    print(f"parley_vs_minimal_64={rps['parley'] / rps['minimal']:.2f}")


if __name__ == "__main__":
    main()
