"""Prometheus metrics (GET /metrics), one registry per app so that two apps in one
process (tests, embedders) never share counts.

What is counted, and where it comes from:
- requests by route template and status: the ASGI middleware here (`Counted`), which
  also makes this app's metrics the observer of the upstream calls its requests cause
  (`parley.models.observe`): upstream calls by provider, model and status, and retries;
- deliberations in flight and each provider's circuit-breaker state: read at scrape
  time from the admission counter and `Router.breakers`, so they are never stale;
- latency by stage, tokens and cost: from a run's typed events (`watch`), the same
  stream the gateway answers from.

Labels hold route templates, provider names, model ids and statuses only: never a
header, a key or any request text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match

from parley import _constants as C
from parley.engine import events as ev
from parley.fusion import events as fusion_ev
from parley.gateway.asgi import ASGIApp, Message, Receive, Scope, Send
from parley.models.observe import observing
from parley.models.retry import CircuitBreaker

# Seconds: a panel call takes from under one to a few hundred (a hung one, to its bound).
_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
_BREAKER_STATES = ("closed", "open", "half_open")


class _Breakers(Collector):
    """One gauge per provider and state, 1 for the state it is in (the enum pattern)."""

    def __init__(self, breakers: Callable[[], Mapping[str, CircuitBreaker]]) -> None:
        self._breakers = breakers

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "parley_circuit_breaker_state",
            "Each provider's circuit breaker: 1 for its current state.",
            labels=["provider", "state"],
        )
        for provider, breaker in sorted(self._breakers().items()):
            for state in _BREAKER_STATES:
                family.add_metric([provider, state], float(breaker.state == state))
        yield family


class Metrics:
    """The app's registry and its instruments; also the upstream observer."""

    def __init__(
        self,
        in_flight: Callable[[], int],
        breakers: Callable[[], Mapping[str, CircuitBreaker]],
    ) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "parley_http_requests", "Requests answered.", ["route", "status"], registry=r
        )
        gauge = Gauge("parley_deliberations_in_flight", "Deliberations running.", registry=r)
        gauge.set_function(lambda: float(in_flight()))
        self.stage = Histogram(
            "parley_stage_seconds",
            "Latency by stage: each panel call, the judge, the outer model's whole run.",
            ["stage"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "parley_tokens", "Tokens over every upstream call of a run.", ["kind"], registry=r
        )
        self.cost = Counter("parley_cost_usd", "Cost the upstreams reported.", registry=r)
        self.upstream = Counter(
            "parley_upstream_calls",
            "Upstream HTTP attempts by provider, model and status (`error`: none came back).",
            ["provider", "model", "status"],
            registry=r,
        )
        self.retries = Counter(
            "parley_upstream_retries", "Upstream retries.", ["provider", "model"], registry=r
        )
        r.register(_Breakers(breakers))
        # Labelled children by label values: `labels()` takes a lock and checks its
        # arguments each time, and upstream calls are counted by the thousand a second.
        self._children: dict[tuple[Any, ...], Any] = {}
        self._models: set[str] = set()

    def child(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, remembered. The label values are route templates,
        provider names, model ids (at most C.METRIC_MODELS_MAX) and statuses; the memo is
        cleared past C.METRIC_CHILDREN_MAX all the same."""
        key = (id(metric), *values)
        found = self._children.get(key)
        if found is None:
            if len(self._children) >= C.METRIC_CHILDREN_MAX:
                self._children.clear()
            found = self._children[key] = metric.labels(*values)
        return found

    def _model(self, model: str) -> str:
        """The label for `model`: itself while fewer than C.METRIC_MODELS_MAX ids have
        been seen, `other` after (a series, once exported, is never dropped)."""
        if model in self._models:
            return model
        if len(self._models) >= C.METRIC_MODELS_MAX:
            return "other"
        self._models.add(model)
        return model

    # The upstream observer (parley.models.observe.UpstreamObserver).
    def upstream_call(self, provider: str, model: str, status: int | None) -> None:
        code = str(status) if status else "error"
        self.child(self.upstream, provider, self._model(model), code).inc()

    def upstream_retry(self, provider: str, model: str) -> None:
        self.child(self.retries, provider, self._model(model)).inc()

    def watch(self) -> Callable[[Any], None]:
        """A listener for one run's events that records its stages, tokens and cost."""
        judge_started: list[float] = []

        def hear(item: Any) -> None:
            if isinstance(item, fusion_ev.PanelCompleted | fusion_ev.PanelFailed):
                self.child(self.stage, "panel").observe(item.seconds)
            elif isinstance(item, fusion_ev.AnalysisInProgress):
                judge_started.append(time.perf_counter())
            elif isinstance(item, fusion_ev.AnalysisCompleted) and judge_started:
                took = time.perf_counter() - judge_started.pop()
                self.child(self.stage, "judge").observe(took)
            elif isinstance(item, ev.Completed):
                outcome = item.outcome
                self.child(self.stage, "outer").observe(outcome.seconds)
                self.child(self.tokens, "prompt").inc(outcome.usage.prompt_tokens)
                self.child(self.tokens, "completion").inc(outcome.usage.completion_tokens)
                if outcome.usage.cost:
                    self.cost.inc(outcome.usage.cost)

        return hear


class Counted:
    """ASGI middleware: counts each request by route template and status, and makes
    `metrics` the observer of the upstream calls made while answering it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        # Most requests hit a path without parameters: a dict lookup, not a regex each.
        self._static = {p: p for r in routes if "{" not in (p := str(getattr(r, "path", "{")))}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = "none"  # a client that left before any answer started

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            with observing(self.metrics):
                await self.app(scope, receive, counted)
        except Exception:
            if status == "none":
                status = "500"  # what the server answers for it
            raise
        finally:
            metrics = self.metrics
            metrics.child(metrics.requests, self._route(scope), status).inc()

    def _route(self, scope: Scope) -> str:
        # The template, not the path: a model id in the path must not make a new series.
        static = self._static.get(scope["path"])
        if static is not None:
            return static
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", "other"))
        return "other"
