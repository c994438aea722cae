"""The MCP face: deliberation as tools for coding agents and desktop assistants.

`parley mcp` serves it over stdio; `parley serve` mounts it at `/mcp` (streamable HTTP).
The official `mcp` SDK is an optional extra; `sdk.require()` names it when it is missing.
"""
