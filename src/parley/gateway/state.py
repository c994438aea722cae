"""What every request of the gateway reads: the Runtime (built at startup, inside the
server's event loop), the limits and admission, the log, and the redactor its writer
applies. Shutting down drains: new work is refused, running work gets the grace period."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from parley import _constants as C
from parley.gateway.admission import Admission
from parley.gateway.log import GatewayLog
from parley.gateway.metrics import Metrics
from parley.gateway.models import Catalog
from parley.http import new_session, pool_for
from parley.redact import Redactor, install_log_filter
from parley.runtime import Runtime, Setup, build
from parley.store import LogStore


class GatewayState:
    """The gateway's shared state. A `runtime` passed in is used as it is (its owner
    manages its session); otherwise one is built from `setup` at startup."""

    def __init__(
        self,
        setup: Setup,
        *,
        runtime: Runtime | None,
        api_keys: list[str],
        max_body: int,
        heartbeat_s: float,
        log_store: LogStore | None,
    ) -> None:
        self.setup = setup
        self._runtime = runtime
        self._injected = runtime is not None
        self.api_keys = list(api_keys)
        self.max_body = max_body
        self.heartbeat_s = heartbeat_s
        self.log = GatewayLog(log_store) if log_store is not None else None
        self._redactor: Redactor | None = None
        self.catalog: Catalog | None = None
        limits = setup.settings.gateway if setup.settings is not None else None
        assert limits is not None, "create_app passes settings"
        self.admission = Admission(limits.max_in_flight, limits.max_question)
        self.read_timeout = limits.read_timeout
        self.shutdown_grace = limits.shutdown_grace
        self.metrics = Metrics(
            lambda: self.admission.in_flight,
            lambda: self._runtime.router.breakers if self._runtime is not None else {},
        )

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the gateway has not started: run it under an ASGI server")
        return self._runtime

    @property
    def running(self) -> Runtime | None:
        """The runtime once started, else None (for probes, which must not raise)."""
        return self._runtime

    @property
    def redactor(self) -> Redactor:
        """Masks every credential the gateway holds: the providers' and its own API keys."""
        return self._redactor or Redactor(self.api_keys)

    def _start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.catalog = Catalog(runtime.router)
        self._redactor = runtime.redactor.with_secrets(self.api_keys)
        if self.log is not None:
            self.log.store.redactor = self._redactor
        install_log_filter(self._redactor)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        # Shutting down drains first: under uvicorn (which has already stopped accepting
        # and waited for open connections up to the same grace) there is usually nothing
        # left; under a server that runs lifespan shutdown first, running work finishes.
        if self._injected:
            self._start(self.runtime)
            try:
                yield
            finally:
                await self.admission.drain(self.shutdown_grace)
            return
        pool = pool_for(self.admission.max_in_flight)
        session = new_session(limit=pool, per_host=pool)
        self._start(build(self.setup, session))
        _settle_heap()
        try:
            yield
        finally:
            await self.admission.drain(self.shutdown_grace)
            self._runtime = None
            self._redactor = None
            await session.close()


def _settle_heap() -> None:
    """Take what startup built out of the garbage collector's sight, and collect less often.

    A full collection walks every tracked object, the imported modules and models
    included: under load it held the interpreter for 0.3-0.6 s at a time, stalling every
    request and probe. Frozen, the startup heap is never walked again. The thresholds are
    far above Python's default (700, 10, 10): the short-lived objects each upstream chunk
    makes are freed by reference counting, not by the collector, and a deliberation's state
    outlives many young collections, so frequent ones only promoted it into the old
    generation and made full sweeps of it frequent. At 1,000 deliberations in flight
    (benchmarks/load_fusion.py) this cut the gateway's CPU per deliberation by about a
    quarter, with the peak heap still under 256 MB."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*C.GATEWAY_GC_THRESHOLDS)
