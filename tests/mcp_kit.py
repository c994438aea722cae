"""What the MCP tests share: `parley mcp` started over stdio with the official client,
aimed at a fake upstream, and the structured result of a tool call."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from cli_kit import cli_env
from parley.testing.upstream import FakeUpstream, RawModel, RawReply, Recorded


def refuse(req: Recorded) -> RawReply:
    """An upstream error the engine does not retry, with a reason to pass on."""
    body = {"error": {"message": "model is overloaded", "code": 400}}
    return RawReply(json.dumps(body).encode(), status=400)


def hang(req: Recorded) -> RawReply:
    return RawReply(b"", then="hang")


REFUSING = RawModel(refuse)
HANGING = RawModel(hang)


@contextlib.asynccontextmanager
async def stdio_session(up: FakeUpstream, **env: str) -> AsyncIterator[ClientSession]:
    """A client session with `python -m parley mcp`, its environment aimed at `up`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "parley", "mcp"],
        env=cli_env(up.base_url, PARLEY_UPSTREAM_RETRIES="0", **env),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def text_of(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def failed_models(out: Mapping[str, Any]) -> dict[str, str]:
    return {f["model"]: f["error"] for f in out["failed_models"]}


@contextlib.asynccontextmanager
async def http_session(url: str, api_key: str | None = None) -> AsyncIterator[ClientSession]:
    """A client session with a gateway's `/mcp`, sending `api_key` as a bearer token."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as client,
        streamable_http_client(url + "/mcp", http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session
