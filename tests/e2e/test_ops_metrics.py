"""GET /metrics, scraped over HTTP after real requests: requests by route template and
status, deliberations in flight, latency by stage, tokens and cost, breaker state; and
each app has its own registry (two gateways in one process count apart)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_kit import CHAT, USER, Held, default_models, running
from parley.testing.upstream import RawModel, RawReply, Recorded
from parley.wire.chat_response import response

FUSION_BODY = {"model": "vendor/outer", "messages": USER, "tools": [{"type": "openrouter:fusion"}]}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str, **kw: str) -> Samples:
    async with aiohttp.ClientSession() as s, s.get(url + "/metrics", headers=kw) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_stages_tokens_cost_and_breakers_are_counted() -> None:
    async with running() as gw:
        async with gw.sdk() as client:
            await client.chat.completions.create(**FUSION_BODY)  # type: ignore[call-overload]
        async with aiohttp.ClientSession() as s:
            async with s.get(gw.v1 + "/models/vendor/a") as r:
                await r.read()
            async with s.get(gw.url + "/nowhere") as r:
                assert r.status == 404
        m = await scrape(gw.url)
        route = "/v1/chat/completions"
        assert value(m, "parley_http_requests_total", route=route, status="200") == 1
        # The template, not the model id in the path; unknown paths share one series.
        assert value(m, "parley_http_requests_total", route="/v1/models/{model_id:path}",
                     status="200") == 1  # fmt: skip
        assert value(m, "parley_http_requests_total", route="other", status="404") == 1
        assert value(m, "parley_deliberations_in_flight") == 0
        assert value(m, "parley_stage_seconds_count", stage="panel") == 2  # two panelists
        assert value(m, "parley_stage_seconds_count", stage="judge") == 1
        assert value(m, "parley_stage_seconds_count", stage="outer") == 1
        # Every call reports 10 prompt and 5 completion tokens and 0.001 in cost: two
        # outer turns, two panelists and the judge.
        assert value(m, "parley_tokens_total", kind="prompt") == 50
        assert value(m, "parley_tokens_total", kind="completion") == 25
        assert value(m, "parley_cost_usd_total") == pytest.approx(0.005)
        assert value(m, "parley_circuit_breaker_state", provider="openrouter", state="closed") == 1
        assert value(m, "parley_circuit_breaker_state", provider="openrouter", state="open") == 0


async def test_deliberations_in_flight_are_read_at_scrape_time_and_apps_count_apart() -> None:
    held = Held()
    models = {**default_models(), "vendor/a": held.model()}
    async with running(models) as gw, running() as other:
        async with aiohttp.ClientSession() as s:
            answer = asyncio.ensure_future(s.post(gw.v1 + CHAT, json=FUSION_BODY))
            await held.wait_started()
            assert value(await scrape(gw.url), "parley_deliberations_in_flight") == 1
            assert value(await scrape(other.url), "parley_deliberations_in_flight") == 0
            held.release.set()
            async with await answer as r:
                assert r.status == 200
        theirs = await scrape(other.url)
        assert not any(name == "parley_http_requests_total" and dict(labels).get("route")
                       == "/v1/chat/completions" for name, labels in theirs)  # fmt: skip


async def test_metrics_are_behind_the_api_keys() -> None:
    async with running(api_keys=["k1"]) as gw:
        async with aiohttp.ClientSession() as s, s.get(gw.url + "/metrics") as r:
            assert r.status == 401
        m = await scrape(gw.url, Authorization="Bearer k1")
        assert value(m, "parley_http_requests_total", route="/metrics", status="401") == 1


async def test_upstream_calls_are_counted_by_provider_model_and_status() -> None:
    async with running() as gw:
        async with gw.sdk() as client:
            await client.chat.completions.create(model="vendor/b", messages=USER)  # type: ignore[arg-type]
        m = await scrape(gw.url)
        labels = {"provider": "openrouter", "model": "vendor/b", "status": "200"}
        assert value(m, "parley_upstream_calls_total", **labels) == 1


async def test_a_retried_call_counts_each_attempt_and_the_retry() -> None:
    def flaky(req: Recorded) -> RawReply:
        if len(model.requests) == 1:
            return RawReply(b'{"error": {"message": "try again"}}', status=500)
        return RawReply(
            json.dumps(
                response(model="vendor/b", content="B: ok.", finish_reason="stop", usage=None)
            ).encode()
        )

    model = RawModel(flaky)
    async with running({**default_models(), "vendor/b": model}) as gw:
        async with gw.sdk() as client:
            r = await client.chat.completions.create(model="vendor/b", messages=USER)  # type: ignore[arg-type]
        assert r.choices[0].message.content == "B: ok."
        m = await scrape(gw.url)
        calls = {"provider": "openrouter", "model": "vendor/b"}
        assert value(m, "parley_upstream_calls_total", **calls, status="500") == 1
        assert value(m, "parley_upstream_calls_total", **calls, status="200") == 1
        assert value(m, "parley_upstream_retries_total", **calls) == 1


def test_made_up_model_ids_cannot_grow_the_metrics_without_bound() -> None:
    """A client can name any model id; past a few hundred distinct ones the calls still
    count, under `model="other"`, instead of each id adding series to every scrape."""
    from prometheus_client import generate_latest

    from parley import _constants as C
    from parley.gateway.metrics import Metrics

    metrics = Metrics(lambda: 0, dict)
    ids = [f"made/up-{i}" for i in range(C.METRIC_MODELS_MAX + 50)]
    for model in ids:
        metrics.upstream_call("openrouter", model, 400)
        metrics.upstream_retry("openrouter", model)
    metrics.upstream_call("openrouter", ids[0], 200)  # an id seen early keeps its series
    families = text_string_to_metric_families(generate_latest(metrics.registry).decode())
    calls = {f.name: f.samples for f in families}["parley_upstream_calls"]
    totals = [s for s in calls if s.name == "parley_upstream_calls_total"]
    labelled = {s.labels["model"] for s in totals}
    assert len(labelled) == C.METRIC_MODELS_MAX + 1  # the first ones and `other`
    other = [s.value for s in totals if s.labels["model"] == "other"]
    assert other == [50.0]
    assert sum(s.value for s in totals) == len(ids) + 1  # nothing went uncounted
    assert any(s.labels == {"provider": "openrouter", "model": ids[0], "status": "200"}
               for s in totals)  # fmt: skip
