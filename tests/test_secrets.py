"""A provider key never reaches an error message, a repr, or a failed panelist's entry."""

from __future__ import annotations

import pytest

from parley import FakeRequest, FunctionModel, UpstreamError
from parley.config import load_settings
from parley.http import new_session, redact_url
from parley.models.fake_server import FakeUpstream
from parley.providers import Router

KEY = "sk-or-v1-0123456789abcdef"


def echoing(req: FakeRequest) -> str:
    # Some upstreams quote the credential they rejected.
    raise UpstreamError(f"invalid key {req.headers.get('Authorization', '')}", 401)


async def test_an_upstream_that_echoes_the_key_does_not_leak_it() -> None:
    async with FakeUpstream({"vendor/a": FunctionModel(echoing)}) as up, new_session() as s:
        env = {"OPENROUTER_BASE_URL": up.base_url, "OPENROUTER_API_KEY": KEY}
        router = Router(load_settings(), s, env=env)
        model = router.resolve("vendor/a")
        with pytest.raises(UpstreamError) as err:
            await model.complete({"messages": [{"role": "user", "content": "hi"}]}, {})
    assert err.value.status_code == 401
    assert KEY not in str(err.value) and "***" in str(err.value)
    assert KEY not in repr(model) and KEY not in repr(router.route("vendor/a"))


def test_credentials_in_a_base_url_are_hidden_when_shown() -> None:
    shown = redact_url("http://user:hunter2-secret@llm.internal:8080/v1")
    assert "hunter2-secret" not in shown and "llm.internal:8080/v1" in shown
