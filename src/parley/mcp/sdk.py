"""The one place that says the `mcp` extra is missing, in words a user can act on."""

from __future__ import annotations

import importlib.util

from parley.errors import ConfigError

INSTALL_HINT = "pip install 'parley-llm[mcp]'"


def require() -> None:
    """Raise a ConfigError naming the extra when the official `mcp` SDK is not installed;
    called before any `mcp` import, so the user sees this and not an ImportError."""
    if importlib.util.find_spec("mcp") is None:
        raise ConfigError(f"the MCP server needs the `mcp` extra: {INSTALL_HINT}")
