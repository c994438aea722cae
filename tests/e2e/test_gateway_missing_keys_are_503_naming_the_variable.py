"""What only the operator can fix is a 503 naming the fix: a model whose provider has no
key names the model and the variable to set, before any stream starts, and, where
OpenRouter has a key, how to reach the model through it instead."""

from __future__ import annotations

import openai
import pytest

from gateway_kit import CHAT, USER, default_models, error_of, post, sdk, serving, settings
from parley.runtime import Setup


def setup(env: dict[str, str]) -> Setup:
    """The gateway's settings from exactly this environment (no fake upstream)."""
    return Setup(settings=settings(env), models=default_models())


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("openrouter_key", [False, True])
async def test_a_model_without_a_key_is_503_naming_model_and_variable(
    openrouter_key: bool, stream: bool
) -> None:
    env = {"OPENROUTER_API_KEY": "sk-or-test-0000"} if openrouter_key else {}
    async with serving(setup(env)) as url, sdk(url + "/v1") as c:
        with pytest.raises(openai.InternalServerError) as caught:
            await c.chat.completions.create(
                model="gpt-4.1",
                messages=USER,  # type: ignore[arg-type]
                stream=stream,
                tools=[{"type": "openrouter:datetime"}] if stream else openai.NOT_GIVEN,  # type: ignore[list-item]
            )
    assert caught.value.status_code == 503
    err = caught.value.body
    assert isinstance(err, dict)
    message = err["message"]
    assert "'gpt-4.1'" in message and "OPENAI_API_KEY" in message
    # With an OpenRouter key, the way round: the model's OpenRouter id.
    assert ("vendor/model" in message and "openai/gpt-4.1" in message) == openrouter_key
    assert err["code"] == 503 and err["metadata"]["reason"] == "missing_provider_key"
    assert err["param"] == "model"


async def test_without_any_key_an_openrouter_model_names_its_variable_only() -> None:
    async with serving(setup({})) as url:
        status, data = await post(url + "/v1" + CHAT, {"model": "vendor/x", "messages": USER})
    assert status == 503
    err = error_of(data)
    assert "'vendor/x'" in err["message"] and "OPENROUTER_API_KEY" in err["message"]
    assert "vendor/model" not in err["message"]
