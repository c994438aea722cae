"""The README's MCP snippets are valid for their hosts: JSON for Claude Desktop and
Cursor, TOML for Codex, a `claude mcp add` line for Claude Code, each starting `parley
mcp`, a command that exists."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from parley.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Using Parley from an agent (MCP)"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    section = README.read_text().split(HEADING + "\n", 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]


def starts_parley_mcp(server: dict[str, Any]) -> None:
    assert server["command"] == "parley" and server["args"] == ["mcp"]
    assert all(isinstance(v, str) for v in server.get("env", {}).values())


def test_each_host_snippet_parses_and_runs_parley_mcp() -> None:
    found = blocks()
    assert [lang for lang, _ in found] == ["shell", "json", "json", "toml"]
    [claude_code] = [b for lang, b in found if lang == "shell"]
    words = shlex.split(claude_code)
    assert words[:3] == ["claude", "mcp", "add"]
    assert words[words.index("--") + 1 :] == ["parley", "mcp"]
    for body in (b for lang, b in found if lang == "json"):  # Claude Desktop, Cursor
        starts_parley_mcp(json.loads(body)["mcpServers"]["parley"])
    [codex] = [b for lang, b in found if lang == "toml"]
    server = tomllib.loads(codex)["mcp_servers"]["parley"]
    starts_parley_mcp(server)
    assert server["tool_timeout_sec"] >= 60  # deliberate's deadline plus the judge
    assert "mcp" in cli.commands
