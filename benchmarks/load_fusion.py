"""Fusion under load and under faults: `parley serve` with 1,000 deliberations in flight.

Three processes: a fake OpenRouter-compatible upstream (_upstream.py with `Chaos`: every
call answers after a latency drawn uniformly from 200-500 ms, and 5% of calls, chosen by a
seeded RNG, get an injected fault instead: a 429 with `Retry-After: 1`, a 500 then success,
a hang, a one-byte-a-second trickle, a response cut mid-way, a connection reset), the
gateway (`parley serve`, its upstream timeouts set short so that hangs and trickles end),
and this load generator: aiohttp, a closed loop of 1,000 workers for 60 s, each posting a
Chat Completions request whose `openrouter:fusion` tool names a panel of 4, a judge and a
`deadline_s`, so that the outer model calls fusion once and answers after it. A separate
connection, from a process of its own (so that the load generator's busy event loop does
not count against the gateway), polls GET /health every 100 ms throughout: on the probe
port (`PARLEY_HEALTH_PORT`, what a load balancer should poll), and for comparison on the
API's port, where a probe waits its turn on the gateway's event loop.

    python benchmarks/load_fusion.py              # 1,000 in flight for 60 s
    python benchmarks/load_fusion.py --quick      # 200 in flight for 10 s
    python benchmarks/load_fusion.py --concurrency 500 --duration 30
    python benchmarks/load_fusion.py --quick --profile gw.prof   # the gateway under cProfile

Reported: throughput (deliberations answered per second of the run), p50/p99 latency,
outcomes by kind, the gateway's peak RSS (VmHWM), /health p99 under load (the probe
port's is the target; the API port's is shown beside it), the gateway's CPU seconds per
deliberation (utime+stime from /proc, from the first request to the last answer, over
the requests answered), the faults the upstream injected, and which event loop and HTTP
parser the gateway ran on; the last line is `unexpected_errors=N`.
Targets: 0 unexpected errors, peak RSS < 256 MB, /health p99 < 50 ms, CPU <= 5 ms per
deliberation (so that throughput is bound by the upstreams, not by Parley).

The CPU target is in milliseconds, and a millisecond of CPU is dearer on a busy machine:
the same code measured 3.3-3.5 ms per deliberation here on a quiet machine, 3.8-4.2 ms
beside one core's worth of memory-bound work, and 6.0 ms beside a two-thread llama.cpp
eval. So a baseline is measured first, in the same run (10 s, before the gateway starts):
the CPU per call of the floor for a Python hop (`_minimal_proxy.py`, Starlette and one
aiohttp session), streamed calls at the same concurrency and latencies with no faults,
and the gateway's CPU per deliberation is shown in those units too (a deliberation makes
~7.4 upstream calls). It is a reference, not an exact normaliser: beside the memory-bound
work the hop's figure hardly moved (0.52 against 0.53 ms a call) while the gateway's rose
from 6.2 to 7.4 bare-hop calls.

What counts as unexpected. Retries (429, 500, reset, cut, timeouts), `deadline_s` and
`failed_models` should turn almost every injected fault into a 200. A request is *ok*
when it answers 200 with a non-empty assistant message. Any other outcome (a non-200, a
200 with an empty answer, a transport error, no answer within the client's timeout) is
*explained* only when the upstream's record shows the gateway had to give up on a model
it cannot do without because of injected faults: the outer model or the judge had its
last 1 + 2 retries all faulted, or its last call was a stream cut after its first chunk
(a byte had reached a consumer, so the retry layer may not try again); or every one of
the 4 panelists ended on a fault. (Each request carries a tag `[load N]` that the fake
upstream finds in every call made for it; it reports each model's calls per tag.)
Everything else is *unexpected*: a fault the retry layer should have absorbed, a 5xx of
the gateway's own (a circuit breaker opened by local queueing included), a crash, a
timeout. The client waits as long as the gateway's bounds allow: every try of the outer
model's two calls and the judge's running to the whole-call bound, the backoffs between
them, `deadline_s`, and 30 s more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _upstream import Chaos, upstream_process  # noqa: E402
from gateway_passthrough import free_port, process  # noqa: E402

PANEL = [f"bench/panel-{i}" for i in range(4)]
JUDGE = "bench/judge"
OUTER = "bench/outer"
RETRIES = 2  # the gateway's default (PARLEY_UPSTREAM_RETRIES)
DEADLINE_S = 5.0  # the panel waits at most this long for its members
SEED = 13
BACKOFF_MAX_S = 8.0  # the retry layer's longest wait between tries
HEALTH_EVERY_S = 0.1
BARE_HOP_S = 10.0  # the baseline's closed loop (at most the run's own duration)
# Short upstream bounds, so that a hung or trickling call ends (and is retried) in seconds.
GATEWAY_ENV = {
    "PARLEY_UPSTREAM_TIMEOUT": "4",
    "PARLEY_UPSTREAM_CONNECT_TIMEOUT": "2",
    "PARLEY_UPSTREAM_FIRST_BYTE_TIMEOUT": "3",
    "PARLEY_UPSTREAM_IDLE_TIMEOUT": "3",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
# `parley serve` under cProfile. uvicorn re-raises the SIGTERM it caught once it has shut
# down, with the handler it found at startup: this one, so that the stats get written.
PROFILED = """
import cProfile, signal, sys
from parley.cli import main
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sys.argv[0] = "parley"
prof = cProfile.Profile()
try:
    prof.runcall(main)
except SystemExit:
    pass
finally:
    prof.dump_stats({out!r})
"""


def request_body(n: int, deadline_s: float = DEADLINE_S) -> bytes:
    fusion = {"models": PANEL, "model": JUDGE, "deadline_s": deadline_s}
    return json.dumps(
        {
            "model": OUTER,
            "messages": [
                {"role": "user", "content": f"[load {n}] Is it cheaper to rent or to buy?"}
            ],
            "tools": [{"type": "openrouter:fusion", "parameters": fusion}],
        }
    ).encode()


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, from /proc/PID/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid: int) -> tuple[float, str]:
    """The process's peak resident set: VmHWM from /proc (the kernel's own high-water
    mark); psutil's current RSS if /proc has none."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "VmHWM"
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20, "psutil rss at the end"


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds, ok requests
    outcomes: Counter[str] = field(default_factory=Counter)
    failed: dict[int, str] = field(default_factory=dict)  # tag -> outcome, not ok
    samples: dict[str, str] = field(default_factory=dict)  # outcome -> one body, not ok
    done_in_window: int = 0


@dataclass
class Probe:
    """GET /health on one port, as a load balancer would poll it."""

    base: str
    what: str
    times: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    path: str = "/health"


async def one(
    session: aiohttp.ClientSession, url: str, n: int, res: Results, deadline_s: float
) -> bool:
    """Post deliberation `n`; record its outcome. True if it was ok."""
    t0 = time.perf_counter()
    try:
        async with session.post(
            url, data=request_body(n, deadline_s), headers={"Content-Type": "application/json"}
        ) as resp:
            raw = await resp.read()
            status = resp.status
    except TimeoutError:
        kind = "client_timeout"
    except aiohttp.ClientError as exc:
        kind = f"transport:{type(exc).__name__}"
    else:
        kind = f"http_{status}"
        if status == 200:
            try:
                body = json.loads(raw)
                content = body["choices"][0]["message"].get("content")
            except (ValueError, KeyError, IndexError, TypeError):
                content = None
            if isinstance(content, str) and content.strip():
                res.latencies.append(time.perf_counter() - t0)
                res.outcomes["ok"] += 1
                return True
            kind = "http_200_empty"
        else:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                error = json.loads(raw)["error"]
                kind += ":" + str((error.get("metadata") or {}).get("error_type") or "")
                if "fusion" in (error.get("metadata") or {}):
                    kind += "+fusion_result"  # the panel's work, kept (nothing paid for lost)
    res.outcomes[kind] += 1
    res.failed[n] = kind
    if kind not in res.samples and kind.startswith("http_"):
        res.samples[kind] = raw[:300].decode(errors="replace")
    return False


def poll_health(base: str, stop: Any, out: Any) -> None:
    """GET /health every HEALTH_EVERY_S on one kept-alive connection until `stop` is set,
    then send (path, latencies, errors) through `out`. Run in a process of its own: what
    a load balancer's probe sees, not the load generator's busy event loop or its GIL."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    path, times, errors = "/health", [], Counter[str]()

    def get(path: str) -> int:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status

    with contextlib.suppress(OSError, http.client.HTTPException):
        if get("/health") == 404:
            path = "/v1/models"  # a gateway from before /health, for comparison
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            status = get(path)
            if status != 200:
                errors[f"http_{status}"] += 1
        except (OSError, http.client.HTTPException) as exc:
            errors[type(exc).__name__] += 1
            conn.close()
        times.append(time.perf_counter() - t0)
        stop.wait(HEALTH_EVERY_S)
    conn.close()
    out.send((path, times, dict(errors)))


async def load(
    base: str,
    concurrency: int,
    duration: float,
    pid: int,
    deadline_s: float,
    client_timeout_s: float,
    probes: list[Probe],
) -> tuple[Results, float, float]:
    """Run the closed loop; return the results and the gateway's CPU seconds over the
    window, and from the first request to the last answer (the drain included)."""
    res = Results()
    url = base + "/v1/chat/completions"
    timeout = aiohttp.ClientTimeout(total=client_timeout_s)
    ctx = multiprocessing.get_context("spawn")
    stop_health = ctx.Event()
    counter = iter(range(10**9))
    pipes = [ctx.Pipe(duplex=False) for _ in probes]
    pollers = [
        ctx.Process(target=poll_health, args=(probe.base, stop_health, send), daemon=True)
        for probe, (_, send) in zip(probes, pipes, strict=True)
    ]
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        for poller in pollers:
            poller.start()
        cpu0 = cpu_seconds(pid)
        start = time.perf_counter()
        stop_at = start + duration

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                ok = await one(session, url, next(counter), res, deadline_s)
                if ok and time.perf_counter() <= stop_at:
                    res.done_in_window += 1

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(duration)
        cpu_window = cpu_seconds(pid) - cpu0
        _, pending = await asyncio.wait(workers, timeout=client_timeout_s + 10)
        for task in pending:
            task.cancel()
        res.outcomes["unfinished_after_drain"] += len(pending)
        cpu_all = cpu_seconds(pid) - cpu0
        stop_health.set()
        for probe, (receive, _) in zip(probes, pipes, strict=True):
            probe.path, probe.times, errors = await asyncio.to_thread(receive.recv)
            probe.errors.update(errors)
        for poller in pollers:
            await asyncio.to_thread(poller.join)
    return res, cpu_window, cpu_all


def hop_body(n: int) -> bytes:
    return json.dumps(
        {
            "model": PANEL[0],
            "messages": [{"role": "user", "content": f"[hop {n}] Is it cheaper to rent?"}],
            "stream": True,
        }
    ).encode()


async def hop_load(url: str, concurrency: int, duration: float, pid: int) -> tuple[int, float]:
    """The baseline's closed loop: calls answered 200, and the hop's CPU seconds from the
    first call to the last answer."""
    done = 0
    counter = iter(range(10**9))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        cpu0 = cpu_seconds(pid)
        stop_at = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                async with session.post(
                    url, data=hop_body(next(counter)), headers={"Content-Type": "application/json"}
                ) as resp:
                    await resp.read()
                    done += resp.status == 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, cpu_seconds(pid) - cpu0


def bare_hop_ms(concurrency: int, duration: float, seed: int) -> float:
    """The baseline, measured in the same run: CPU milliseconds per call of the floor for a
    Python hop (`_minimal_proxy.py`: Starlette and one aiohttp session, nothing else),
    streamed calls at the same concurrency and latencies, with no faults."""
    with upstream_process(chaos=Chaos(seed=seed, fault_rate=0.0)) as upstream:
        port, procs = free_port(), []
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        cmd = [sys.executable, str(HERE / "_minimal_proxy.py"), str(port), upstream]
        with process(cmd, dict(os.environ), url, 30, on_start=procs.append):
            done, cpu = asyncio.run(hop_load(url, concurrency, duration, procs[0].pid))
    return cpu / max(1, done) * 1e3


def worst_case_s(upstream_timeout: float, deadline_s: float) -> float:
    """The longest a deliberation may take when every retry of the outer model's two calls
    and the judge's call runs into the whole-call bound: the client waits this long (plus
    some slack) before it calls a request lost."""
    tries = 3 * (1 + RETRIES)
    return tries * upstream_timeout + 3 * RETRIES * BACKOFF_MAX_S + deadline_s


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def gave_up(calls: list[str]) -> str | None:
    """Why the gateway rightly gave up on a model whose calls went so, if it did: its
    retries were spent on injected faults, or a stream was cut after its first chunk (a
    byte had reached a consumer, so the retry layer may not try again)."""
    trailing = 0
    for kind in reversed(calls):
        if kind.startswith("ok"):
            break
        trailing += 1
    if trailing > RETRIES:
        return "retries spent on faults"
    if calls and calls[-1] == "cut@stream":
        return "stream cut after its first chunk"
    return None


def explained(calls_by_model: dict[str, list[str]] | None) -> str | None:
    """Why the injected faults account for a request's failure, if they do (see the
    module's docstring)."""
    if not calls_by_model:
        return None
    for role, model in (("outer model", OUTER), ("judge", JUDGE)):
        why = gave_up(calls_by_model.get(model, []))
        if why:
            return f"{role}: {why}"
    # A panelist is let go after any fault (the deadline cuts its retries short); the
    # panel fails only when every member did.
    if all(not calls_by_model.get(m, ["ok"])[-1].startswith("ok") for m in PANEL):
        return "every panelist ended on a fault"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=1000, help="workers (default 1000)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    ap.add_argument("--quick", action="store_true", help="200 workers for 10 s")
    ap.add_argument("--seed", type=int, default=SEED, help="the upstream's fault RNG seed")
    ap.add_argument(
        "--deadline", type=float, default=DEADLINE_S, help=f"deadline_s (default {DEADLINE_S:g})"
    )
    ap.add_argument(
        "--upstream-timeout",
        type=float,
        default=float(GATEWAY_ENV["PARLEY_UPSTREAM_TIMEOUT"]),
        help="the gateway's whole-call bound in seconds; first-byte and idle bounds are "
        f"3/4 of it (default {GATEWAY_ENV['PARLEY_UPSTREAM_TIMEOUT']})",
    )
    ap.add_argument(
        "--profile",
        metavar="PATH",
        help="run the gateway under cProfile and write its stats to PATH (slows it down)",
    )
    args = ap.parse_args()
    if args.quick:
        args.concurrency, args.duration = 200, 10.0
    hop_ms = bare_hop_ms(args.concurrency, min(args.duration, BARE_HOP_S), args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    gateway: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(upstream_process(chaos=Chaos(seed=args.seed)))
        bound = args.upstream_timeout
        env = {
            **os.environ,
            **GATEWAY_ENV,
            "PARLEY_UPSTREAM_TIMEOUT": f"{bound:g}",
            "PARLEY_UPSTREAM_FIRST_BYTE_TIMEOUT": f"{bound * 0.75:g}",
            "PARLEY_UPSTREAM_IDLE_TIMEOUT": f"{bound * 0.75:g}",
            "OPENROUTER_BASE_URL": upstream,
            "OPENROUTER_API_KEY": "sk-bench-not-a-key",
            # Every client in flight is admitted (the default bound, 256, would turn the
            # rest into 429s); the upstream pool is sized from this bound.
            "PARLEY_MAX_IN_FLIGHT": str(args.concurrency),
            "PARLEY_CONFIG": str(scratch / "config.toml"),  # absent: built-in defaults
            "PARLEY_KEYS": str(scratch / "keys.json"),
            "PARLEY_LOG_DB": str(scratch / "logs.db"),
        }
        env.pop("PARLEY_API_KEYS", None)
        port, health_port = free_port(), free_port()
        env["PARLEY_HEALTH_PORT"] = str(health_port)
        cmd = [sys.executable, "-m", "parley", "serve", "--port", str(port)]
        if args.profile:
            cmd[1:3] = ["-c", PROFILED.format(out=str(Path(args.profile).resolve()))]
        stack.enter_context(
            process(
                [*cmd, "--log-level", "warning"],
                env,
                f"http://127.0.0.1:{port}/v1/chat/completions",
                60,
                on_start=gateway.append,
            )
        )
        pid = gateway[0].pid
        base = f"http://127.0.0.1:{port}"
        client_timeout = worst_case_s(args.upstream_timeout, args.deadline) + 30
        probes = [
            Probe(f"http://127.0.0.1:{health_port}", "the probe port (PARLEY_HEALTH_PORT)"),
            Probe(base, "the API's port (waits its turn on the event loop)"),
        ]
        res, cpu, cpu_all = asyncio.run(
            load(base, args.concurrency, args.duration, pid, args.deadline, client_timeout, probes)
        )
        crashed = gateway[0].poll()
        rss, rss_how = peak_rss_mb(pid) if crashed is None else (float("nan"), "exited")
        stats = json.loads(urllib_get(upstream.rsplit("/api/v1", 1)[0] + "/stats"))

    by_tag = stats["calls_by_tag"]
    unexpected: Counter[str] = Counter()
    explained_n: Counter[str] = Counter()
    for tag, kind in res.failed.items():
        why = explained(by_tag.get(str(tag)))
        if why:
            explained_n[f"{kind} ({why})"] += 1
        else:
            unexpected[kind] += 1
    if crashed is not None:
        unexpected[f"gateway_exited_{crashed}"] += 1
    lost = res.outcomes["unfinished_after_drain"]
    if lost:
        unexpected["unfinished_after_drain"] += lost
    counts = stats["counts"]
    calls = sum(counts.values())
    faults = {k: v for k, v in counts.items() if k != "ok"}

    print(
        f"{args.concurrency} deliberations in flight for {args.duration:g} s; panel of "
        f"{len(PANEL)}, judge, outer model; deadline_s={args.deadline:g}; gateway upstream "
        f"timeout {args.upstream_timeout:g} s; upstream latency "
        f"200-500 ms, faults 5% (seed {args.seed}); machine shared, figures noisy"
    )
    print(f"gateway: {server_stack()}")
    print(f"upstream calls: {calls}, injected faults: {sum(faults.values())} {faults}")
    print(f"outcomes: {dict(res.outcomes)}")
    degraded = sum(
        1
        for tag, calls in by_tag.items()
        if int(tag) not in res.failed
        and any(not calls.get(m, ["ok"])[-1].startswith("ok") for m in PANEL)
    )
    print(f"ok though a panelist ended on a fault (in failed_models): {degraded}")
    print(f"explained by injected faults: {sum(explained_n.values())} {dict(explained_n)}")
    print(f"unexpected: {dict(unexpected)}")
    for kind, sample in res.samples.items():
        print(f"  e.g. {kind}: {sample}")
    shown = [t for t, k in res.failed.items() if not explained(by_tag.get(str(t)))][:5]
    for tag in shown:
        calls = by_tag.get(str(tag), "no fault injected")
        print(f"  unexpected [load {tag}] {res.failed[tag]}: upstream calls {calls}")
    print(f"throughput: {res.done_in_window / args.duration:.1f} deliberations/s")
    print(
        f"latency: p50 {pct(res.latencies, 0.5):.3f} s, p99 {pct(res.latencies, 0.99):.3f} s "
        f"(n={len(res.latencies)})"
    )
    print(f"gateway peak RSS: {rss:.1f} MB ({rss_how}; target < 256)")
    for probe in probes:
        note = " (/health answered 404: polled /v1/models)" if probe.path != "/health" else ""
        target = "; target p99 < 50" if probe is probes[0] else ""
        print(
            f"{probe.path} on {probe.what} under load: p50 {pct(probe.times, 0.5) * 1e3:.1f} ms, "
            f"p99 {pct(probe.times, 0.99) * 1e3:.1f} ms, max {max(probe.times or [0]) * 1e3:.1f}"
            f" ms (n={len(probe.times)}, errors {dict(probe.errors)}{target}){note}"
        )
    # Every request answered (ok or not) over the CPU from the first request to the last
    # answer: the window alone counts the work of requests still running at its end but
    # not their answers, which overstates the cost by the ramp-up.
    handled = sum(res.outcomes.values()) - lost
    print(
        f"gateway CPU: {cpu_all:.1f} s from the first request to the last answer, "
        f"{cpu_all / max(1, handled) * 1e3:.2f} ms per deliberation ({handled} answered; "
        f"target <= 5); within the window alone {cpu:.1f} s, "
        f"{cpu / max(1, res.done_in_window) * 1e3:.2f} ms per deliberation answered in it"
    )
    per_delib = cpu_all / max(1, handled) * 1e3
    print(
        f"baseline in this run: a bare Starlette + aiohttp hop (_minimal_proxy.py), streamed "
        f"calls at the same concurrency and latencies, {hop_ms:.3f} ms CPU per call; a "
        f"deliberation made {calls / max(1, handled):.1f} upstream calls and cost the gateway "
        f"as much CPU as {per_delib / hop_ms:.1f} bare-hop calls"
    )
    print(f"unexpected_errors={sum(unexpected.values())}")


def server_stack() -> str:
    """The event loop and HTTP parser uvicorn picks in this environment (its `auto`)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn on {loop} + {parser}"


def urllib_get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode()


if __name__ == "__main__":
    main()
