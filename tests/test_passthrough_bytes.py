"""The lean path sends the client's own bytes only when they are exactly what would go
upstream: the body unchanged, and encoded as every JSON server reads it (UTF-8, no BOM)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable

import pytest

from contract_kit import QUESTION, make_runtime, panel_models, plan
from gateway_kit import post, running
from parley.wire.chat_request import passthrough_body

USER = [{"role": "user", "content": QUESTION}]


def test_an_empty_plugins_list_is_dropped_as_before() -> None:
    """Parley consumes `plugins`; an empty list used to be removed, and a server that
    knows no `plugins` field (OpenAI's) rejects it even empty."""
    body = {"model": "vendor/outer", "messages": USER, "plugins": []}
    sent = passthrough_body(body, plan(body, make_runtime(panel_models())))
    assert "plugins" not in sent
    assert sent is not body


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode(),
        lambda text: text.encode("utf-16"),
        lambda text: text.encode("utf-16-le"),
    ],
    ids=["utf-8 with BOM", "utf-16", "utf-16-le"],
)
async def test_a_body_in_another_encoding_goes_upstream_as_plain_utf8(
    encode: Callable[[str], bytes],
) -> None:
    text = json.dumps({"model": "vendor/a", "messages": [{"role": "user", "content": "hi"}]})
    raw = encode(text)
    async with running() as gw:
        status, _ = await post(gw.v1 + "/chat/completions", None, raw=raw)
        assert status == 200
        # Python's JSON reader accepts these; many servers (Go's, Node's) do not.
        assert gw.upstream.requests[-1].headers["Content-Length"] != str(len(raw))
