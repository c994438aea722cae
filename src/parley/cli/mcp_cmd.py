"""`parley mcp`: the MCP server over stdio, for hosts that start it themselves (Claude
Desktop, Claude Code, Cursor, Codex)."""

from __future__ import annotations

import anyio
import click

from parley import offline
from parley.cli._common import cli_errors, load_cli_settings, store_for
from parley.mcp import sdk


@click.command("mcp")
@click.option("--preset", help="The default panel (see `parley presets`).")
@click.option("-n", "--no-log", is_flag=True, help="Do not log deliberations.")
def mcp(preset: str | None, no_log: bool) -> None:
    """Serve deliberation as MCP tools over stdio.

    stdout carries the protocol; notices go to stderr. Every deliberation is logged
    (`parley logs`, source `mcp`) unless -n is given.

    \b
    Example (what a host runs):
      parley mcp
    """
    with cli_errors():
        sdk.require()
        from parley.mcp.server import build_server  # needs the extra, checked just above

        settings, notice = offline.apply(load_cli_settings(preset=preset))  # no key: local
        if notice:
            click.echo(notice, err=True)
        server = build_server(settings, store_for(settings, no_log=no_log))
    anyio.run(server.run_stdio_async)
