"""Providers say where a model runs and with which key: one built-in table drives routing
and the names of the key variables, and a missing key is named where it is needed."""

from __future__ import annotations

import json
import os

import pytest

from parley.cli.keys import KEY_ENVS
from parley.config import load_settings
from parley.errors import MissingKeyError
from parley.fusion.run import Deliberation
from parley.http import new_session
from parley.providers import BUILTIN, OPENAI, Router
from parley.runtime import Runtime
from parley.testing import ANALYSIS_JSON, FakeUpstream, FunctionModel

SECRET = "sk-or-v1-this-is-secret"


def _router(env: dict[str, str], **overrides: object) -> Router:
    return Router(load_settings(env=env, overrides=overrides), None)


def test_vendor_ids_go_to_openrouter_with_its_key() -> None:
    route = _router({"OPENROUTER_API_KEY": SECRET}).route("anthropic/claude-x")
    assert (route.provider, route.base_url, route.upstream_model) == (
        "openrouter",
        "https://openrouter.ai/api/v1",
        "anthropic/claude-x",
    )
    assert route.api_key == SECRET


def test_openrouter_base_url_comes_from_the_environment() -> None:
    env = {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"}
    assert _router(env).route("vendor/m").base_url == "http://127.0.0.1:9/api/v1"


def test_bare_ids_go_to_openai() -> None:
    env = {"OPENAI_API_KEY": "sk-oa", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    route = _router(env).route("gpt-4.1")
    assert (route.provider, route.base_url, route.api_key) == (
        "openai",
        "http://127.0.0.1:9/v1",
        "sk-oa",
    )


def test_openai_ids_go_to_openai_directly_when_only_its_key_is_set() -> None:
    route = _router({"OPENAI_API_KEY": "sk-oa"}).route("openai/gpt-4.1")
    assert (route.provider, route.upstream_model) == ("openai", "gpt-4.1")
    both = {"OPENAI_API_KEY": "sk-oa", "OPENROUTER_API_KEY": SECRET}
    assert _router(both).route("openai/gpt-4.1").provider == "openrouter"


def test_a_configured_server_is_routed_by_its_prefix_with_its_key_variable() -> None:
    providers = {
        "ollama": {"base_url": "http://127.0.0.1:11434/v1", "key_env": "OLLAMA_KEY"},
        "lab": {"base_url": "http://127.0.0.1:8000/v1", "prefix": "lab:"},
    }
    router = _router({"OLLAMA_KEY": "k1"}, providers=providers)
    route = router.route("ollama/llama3.2")
    assert (route.provider, route.base_url, route.upstream_model, route.api_key) == (
        "ollama",
        "http://127.0.0.1:11434/v1",
        "llama3.2",
        "k1",
    )
    assert router.route("lab:qwen").upstream_model == "qwen"


def test_a_key_saved_in_the_keys_file_is_used() -> None:
    with open(os.environ["PARLEY_KEYS"], "w") as fh:
        json.dump({"openrouter": SECRET}, fh)
    assert _router(dict(os.environ)).route("vendor/m").api_key == SECRET


def test_one_builtin_table_drives_routing_and_key_names() -> None:
    for prov in BUILTIN:
        env = {prov.key_env: SECRET, prov.url_env: "http://127.0.0.1:9/v1"}
        route = _router(env).route("gpt-x" if prov is OPENAI else "vendor/m")
        assert (route.provider, route.base_url, route.key_env, route.api_key) == (
            prov.name,
            "http://127.0.0.1:9/v1",
            prov.key_env,
            SECRET,
        )
        assert KEY_ENVS[prov.name] == prov.key_env


@pytest.mark.parametrize(
    ("model_id", "variable"), [("vendor/m", "OPENROUTER_API_KEY"), ("gpt-4.1", "OPENAI_API_KEY")]
)
def test_a_missing_key_names_the_variable_to_set(model_id: str, variable: str) -> None:
    with pytest.raises(MissingKeyError) as err:
        _router({}).resolve(model_id)
    assert err.value.env_var == variable
    assert variable in str(err.value)


async def test_a_panelist_without_a_key_fails_naming_the_variable() -> None:
    models = {
        "vendor/a": FunctionModel(lambda req: "A"),
        "vendor/judge": FunctionModel(lambda req: ANALYSIS_JSON),
    }
    settings = load_settings({}, overrides={"panel": ["vendor/a", "vendor/nokey"]})
    runtime = Runtime(Router(settings, None, models=models))
    d = Deliberation(runtime, "Why is the sky blue?", judge_default="vendor/judge")
    result = await d.run()
    assert result.status == "ok"
    assert [f.model for f in result.failed_models] == ["vendor/nokey"]
    assert "OPENROUTER_API_KEY" in result.failed_models[0].error


async def test_reasoning_is_sent_in_each_providers_own_spelling() -> None:
    fm = FunctionModel(lambda req: "ok")
    async with FakeUpstream(default=fm) as up, new_session() as session:
        env = {"OPENAI_BASE_URL": up.base_url, "OPENROUTER_BASE_URL": up.base_url}
        router = Router(load_settings(env=env), session)
        body = {"messages": [{"role": "user", "content": "x"}], "reasoning": {"effort": "low"}}
        await router.resolve("gpt-5").complete(body, {})  # OpenAI's own API
        await router.resolve("openai/gpt-5").complete(body, {})  # through OpenRouter
    to_openai, to_openrouter = (r.body for r in up.requests)
    assert to_openai["reasoning_effort"] == "low" and "reasoning" not in to_openai
    assert to_openrouter["reasoning"] == {"effort": "low"}
    assert "reasoning_effort" not in to_openrouter


async def test_made_up_model_ids_do_not_grow_the_router_without_bound() -> None:
    """Clients name model ids: a gateway asked for ever new ones keeps a bounded number of
    remote models (built again when asked again), and still answers each."""
    from parley import _constants as C

    async with new_session() as session:
        router = Router(load_settings(env={"OPENROUTER_API_KEY": SECRET}), session)
        first = router.resolve("vendor/first")
        assert router.resolve("vendor/first") is first  # built once while remembered
        for i in range(2 * C.ROUTE_MEMO_MAX + 10):
            router.resolve(f"made/up-{i}")
        latest = router.resolve("vendor/latest")
        assert router.resolve("vendor/latest") is latest
        held = router._cache.keys() | router._forwarding.keys()
        assert len(held) <= C.ROUTE_MEMO_MAX
        again = router.resolve("vendor/first")  # forgotten, built again, same route
        assert (again.model_id, router.route("vendor/first").provider) == (
            "vendor/first",
            "openrouter",
        )
