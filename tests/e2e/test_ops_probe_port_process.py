"""The probe port (`parley serve` with PARLEY_HEALTH_PORT) as an operator relies on it:
served by a process of its own, it reports a gateway whose event loop is frozen as
`stalled` (a 503 a liveness probe restarts on) and recovers when it runs again, and it
never outlives the gateway, even one killed with SIGKILL.

The gateway is frozen with SIGSTOP, as a wedged process would be; the probe process is
not, so it notices that the snapshots stopped.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from gateway_kit import free_port, parley_serve, probe_get, until
from parley import _constants as C
from parley.testing.upstream import FakeUpstream


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, awaiting its parent's wait, has stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_probe_port_reports_a_frozen_gateway_and_dies_with_it(tmp_path: Path) -> None:
    probe_port = free_port()
    async with FakeUpstream({}) as up:
        env = {"PARLEY_HEALTH_PORT": str(probe_port)}
        with parley_serve(tmp_path, up.base_url, env) as (_, proc):
            # The probe hears the gateway by snapshots, up to one tick behind its start.
            until(lambda: probe_get(probe_port, "/ready") == (200, {"status": "ready"}), "ready")
            status, body = probe_get(probe_port, "/health")
            assert (status, body["status"]) == (200, "ok")
            [probe] = children(proc.pid)

            os.kill(proc.pid, signal.SIGSTOP)
            try:
                frozen_at = time.monotonic()
                until(lambda: probe_get(probe_port, "/health")[0] == 503, "/health says stalled")
                assert time.monotonic() - frozen_at >= C.GATEWAY_LOOP_STALL_S
                status, body = probe_get(probe_port, "/health")
                assert body["error"]["metadata"]["reason"] == "stalled"
                assert "restart" in body["error"]["message"]
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            until(lambda: probe_get(probe_port, "/health")[0] == 200, "/health recovers")

            proc.kill()  # no chance to clean up: the kernel closes the probe's pipe
            proc.wait(30)
            until(lambda: not alive(probe), "the probe process exits")
