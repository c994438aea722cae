"""With no provider key, the page offers the bundled models as its defaults (what `parley
ask` would run), not a preset of remote models that cannot answer."""

from __future__ import annotations

import json

from asgi_kit import AsgiClient
from parley.config import load_settings
from parley.gateway import create_app
from parley.models.local.files import local_available
from parley.offline import JUDGE, OUTER, PANEL
from parley.runtime import Setup


async def test_without_a_key_the_page_defaults_to_the_offline_models() -> None:
    app = create_app(Setup(settings=load_settings({})))
    async with AsgiClient(app) as client:
        reply = await client.request("GET", "/v1/choices")
    assert reply.status == 200
    choices = json.loads(reply.body)
    assert choices["offline"] is True
    assert local_available()  # the `local` extra, which the test command installs
    assert choices["defaults"]["panel"] == list(PANEL)
    assert (choices["defaults"]["judge"], choices["defaults"]["model"]) == (JUDGE, OUTER)
    assert set(PANEL) <= set(choices["models"])
