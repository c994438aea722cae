"""schemathesis against the gateway's own OpenAPI document (GET /openapi.json), served
live on loopback in front of a FakeUpstream: generated requests for every operation,
each answer checked for a 5xx, an undocumented status or content type, and a body or
header that breaks the document's schemas.

Models the upstream does not know are a 404 from it (as from OpenRouter); ids without a
slash go to the OpenAI provider, pointed at the same fake upstream, so that no answer is
a 503 for a key this test environment lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from gateway_kit import default_models
from gateway_kit import settings as gateway_settings
from parley.gateway import create_app
from parley.runtime import Setup
from parley.testing.server import ServerThread
from parley.testing.upstream import FakeUpstream, ThreadedUpstream

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def gateway_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    home: Path = tmp_path_factory.mktemp("home")
    with ThreadedUpstream(FakeUpstream(default_models())) as up:
        env = {
            "PARLEY_CONFIG": str(home / "config.toml"),
            "PARLEY_KEYS": str(home / "keys.json"),
            "OPENROUTER_BASE_URL": up.base_url,
            "OPENAI_BASE_URL": up.base_url,
        }
        app = create_app(Setup(settings=gateway_settings(env)))
        with ServerThread(app) as url:
            yield schemathesis.openapi.from_url(url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("gateway_schema")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_gateway_keeps_to_its_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
