"""/health and /ready on a port of their own (`gateway.health_port`, PARLEY_HEALTH_PORT,
`parley serve --health-port`), answered by a child process (`probe_process`) from a
snapshot the event loop sends it every GATEWAY_LOOP_TICK_S.

Why a process: on the API's port a probe waits its turn on the event loop, and with
hundreds of deliberations in flight one turn can take a few hundred milliseconds. A thread
of the gateway fared little better: it needs the interpreter lock, which a garbage
collection or a long turn holds for as long (at 1,000 deliberations in flight its p99 was
225 ms). The child has an interpreter of its own and answers in a millisecond or two. A
snapshot is at most one tick old; when none has come for GATEWAY_LOOP_STALL_S the event
loop has stopped turning and /health there is a 503 (`stalled`), so a liveness probe still
catches a wedged gateway.

The child exits when its stdin closes: when the gateway stops, and when it dies, even by
SIGKILL (the kernel closes the pipe), so it never outlives it. With `parley serve
--workers N` each worker has its own child; they all bind the port (SO_REUSEPORT) and the
kernel spreads probes among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley import _constants as C
from parley.errors import ConfigError
from parley.gateway import health
from parley.gateway.errors import error_body

if TYPE_CHECKING:  # the state holds the probe port: no import at run time
    from parley.gateway.state import GatewayState

log = logging.getLogger("parley.gateway")
_SERVER = Path(__file__).with_name("probe_process.py")
_START_TIMEOUT_S = 10.0


class ProbePort:
    """Serve the probes of `state` on `host`:`port` while the app runs (`start`, `stop`)."""

    def __init__(self, state: GatewayState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._timer: asyncio.TimerHandle | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._pending = b""  # a snapshot the pipe had no room for yet

    def start(self) -> None:
        # -I: the standard library only, no user site, and not this folder on sys.path
        child = subprocess.Popen(
            [sys.executable, "-I", str(_SERVER), self.host, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        line = b""
        if select.select([child.stdout], [], [], _START_TIMEOUT_S)[0]:
            line = child.stdout.readline()
        if not line.startswith(b"PORT "):
            child.kill()
            child.wait()
            reason = line.decode(errors="replace").removeprefix("ERROR ").strip()
            raise ConfigError(
                f"cannot serve /health on {self.host}:{self.port} "
                f"({reason or 'the probe process did not start'}); "
                "choose another port with PARLEY_HEALTH_PORT or `parley serve --health-port`"
            )
        self.port = int(line.split()[1])  # port 0: the one the system chose
        self._child = child
        os.set_blocking(child.stdin.fileno(), False)
        self._send(self._fixed() | self._snapshot())
        self.state.admission.on_draining = self.refresh
        self._timer = asyncio.get_running_loop().call_later(C.GATEWAY_LOOP_TICK_S, self._beat)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ProbePort]:
        """Serve while the block runs (the app's lifespan)."""
        self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def stop(self) -> None:
        self.state.admission.on_draining = None
        if self._timer is not None:
            self._timer.cancel()
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()  # end of input: the child exits
        child.stdout.close()
        try:
            await asyncio.to_thread(child.wait, _START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            await asyncio.to_thread(child.wait)

    def _beat(self) -> None:
        self._send(self._snapshot())
        if self._child is None:
            return
        if self._child.poll() is not None:  # the probe port is down, the API's is not
            log.warning(
                "the probe process serving /health on %s:%s exited (status %s); "
                "restart parley serve to serve it again",
                self.host,
                self.port,
                self._child.returncode,
            )
            return
        self._timer = asyncio.get_running_loop().call_later(C.GATEWAY_LOOP_TICK_S, self._beat)

    def refresh(self) -> None:
        """Send the state now (it changed), rather than at the next tick."""
        self._send(self._snapshot())

    def _snapshot(self) -> dict[str, Any]:
        return {"health": health.health(self.state), "ready": health.ready(self.state)}

    def _fixed(self) -> dict[str, Any]:
        """What the child needs once: its stall bound and the answers that never change."""
        stalled = health.health(self.state, stalled_s=C.GATEWAY_LOOP_STALL_S)
        text = "no such route on the probe port: GET /health or /ready"
        return {
            "stall_after_s": C.GATEWAY_LOOP_TICK_S + C.GATEWAY_LOOP_STALL_S,
            "stalled": stalled,
            "not_found": (404, error_body(404, text, 404), {}),
        }

    def _send(self, answers: dict[str, Any]) -> None:
        """Write a snapshot line without ever blocking the loop. A line the pipe has no
        room for is finished before the next one starts, so the child never reads a torn
        one; while it lags, newer snapshots are dropped (they would be stale by then)."""
        if self._child is None or self._child.stdin is None:
            return
        data = self._pending or json.dumps(answers).encode() + b"\n"
        try:
            written = os.write(self._child.stdin.fileno(), data)
        except BlockingIOError:
            written = 0
        except OSError:  # the child is gone (`_beat` stops)
            written = len(data)
        self._pending = data[written:]
