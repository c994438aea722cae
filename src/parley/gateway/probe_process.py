"""The probe port's server: a child process that answers /health and /ready from the last
snapshot its gateway sent (`probe_port.ProbePort` starts it and feeds it).

Run as `python -I probe_process.py HOST PORT`; it imports the standard library only, so
that it starts in tens of milliseconds and holds a few megabytes. It prints `PORT n` (the
port bound, useful with port 0) or `ERROR reason`, then reads one JSON snapshot per line
on stdin: the answers to serve (`health`, `ready`, and, once, `stalled`, `not_found` and
`stall_after_s`). When no snapshot has come for `stall_after_s`, /health is the `stalled`
answer: the gateway's event loop has stopped turning. At end of input (the gateway
stopped, or died) it exits, so it never outlives its gateway.

Why a process and not a thread of the gateway: a thread needs the gateway's interpreter
lock to answer, and under load the lock is held for hundreds of milliseconds at a time
(a garbage collection, a long turn of the event loop). This process has a lock of its own.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (status, JSON body, extra headers), as the gateway sends them
Answer = list[Any]


class _Server(ThreadingHTTPServer):
    allow_reuse_port = True  # with `parley serve --workers N` every worker's child binds it
    daemon_threads = True
    block_on_close = False


class Snapshot:
    """The answers last sent by the gateway, and when they came."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.answers: dict[str, Any] = dict(first)
        self.received = time.monotonic()
        self.lock = threading.Lock()

    def update(self, answers: dict[str, Any]) -> None:
        with self.lock:
            self.answers.update(answers)
            self.received = time.monotonic()

    def answer(self, path: str) -> Answer:
        with self.lock:
            answers, age = self.answers, time.monotonic() - self.received
            if path == "/health":
                stalled = age > float(answers["stall_after_s"])
                return list(answers["stalled" if stalled else "health"])
            if path == "/ready":
                return list(answers["ready"])
            return list(answers["not_found"])


def _handler(snapshot: Snapshot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept-alive connections, as probes reuse them

        def do_GET(self) -> None:
            status, body, headers = snapshot.answer(self.path.split("?", 1)[0].rstrip("/"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a probe every few seconds is not worth a log line

        def version_string(self) -> str:
            return "parley"

    return Handler


def _follow(snapshot: Snapshot) -> None:
    """Apply each snapshot line; at end of input the gateway is gone: exit with it."""
    for line in sys.stdin.buffer:
        try:
            snapshot.update(json.loads(line))
        except ValueError:
            continue  # a torn line is replaced by the next snapshot
    os._exit(0)


def main(host: str, port: int) -> None:
    # The gateway decides when this process ends (it closes stdin): Ctrl-C in a terminal
    # and a service manager's SIGTERM reach the whole process group, and probes should
    # still say `draining` while the gateway finishes its running requests.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        server = _Server((host, port), BaseHTTPRequestHandler)
    except OSError as exc:
        print(f"ERROR {exc.strerror}", flush=True)
        return
    print(f"PORT {server.server_address[1]}", flush=True)
    first = sys.stdin.buffer.readline()
    if not first:
        return
    snapshot = Snapshot(json.loads(first))
    server.RequestHandlerClass = _handler(snapshot)
    threading.Thread(target=_follow, args=(snapshot,), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
