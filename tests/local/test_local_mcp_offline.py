"""`parley mcp` with no key deliberates on the bundled offline models (slow: the real GGUF
models answer)."""

from __future__ import annotations

import os
import sys

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_kit import structured

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.local_models

KEYS = ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "OPENROUTER_BASE_URL", "OPENAI_BASE_URL")


async def test_deliberate_runs_on_the_offline_models_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEYS and not k.startswith("PARLEY_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "parley", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        args = {"question": "Name a colour of the sky.", "web": False, "deadline_s": 240}
        out = structured(await s.call_tool("deliberate", args))
    assert out["status"] in ("complete", "degraded", "partial")
    assert out["answered"] and all(m.startswith("local/") for m in out["answered"])
