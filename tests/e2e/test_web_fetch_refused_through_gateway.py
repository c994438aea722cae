"""Through the gateway, with the official openai SDK: a web_fetch of a private address
spelled with Unicode full stops is refused, the model reads the refusal, and not a byte
reaches the address (issue 9)."""

# The look-alike characters below are the attack under test.

from __future__ import annotations

import asyncio
import json

from openai import OpenAI

from gateway_kit import running
from parley.models.base import Turn
from parley.testing import FakeRequest, FunctionModel, tool_call
from web_kit import serve_counter


async def test_the_gateway_refuses_a_unicode_dot_url_and_nothing_reaches_it() -> None:
    async with serve_counter() as counter:
        url = f"http://127。0。0。1:{counter.port}/admin"

        def outer(req: FakeRequest) -> Turn | str:
            if "web_fetch" in req.tools and not req.tool_results:
                return tool_call("web_fetch", {"url": url})
            return "fetched: " + (req.tool_results[-1] if req.tool_results else "nothing")

        model = FunctionModel(outer)
        async with running({"vendor/outer": model}) as gw:

            def ask() -> str:
                with OpenAI(base_url=gw.v1, api_key="x", max_retries=0) as client:
                    done = client.chat.completions.create(
                        model="vendor/outer",
                        messages=[{"role": "user", "content": "Fetch the admin page."}],
                        tools=[{"type": "openrouter:web_fetch"}],  # type: ignore[list-item]
                    )
                return done.choices[0].message.content or ""

            answer = await asyncio.to_thread(ask)  # the sync SDK blocks; the counter lives here
        seen = json.loads(model.requests[-1].tool_results[-1])
        assert seen["status"] == "failed" and seen["error"].startswith("refused: ")
        assert "loopback" in seen["error"]
        assert answer.startswith("fetched: ") and "refused: " in answer
        assert await counter.reached() == {}
