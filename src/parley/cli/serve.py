"""`parley serve`: the OpenAI- and OpenRouter-compatible gateway on uvicorn."""

from __future__ import annotations

import math

import click

from parley import _constants as C
from parley.config import export, load_settings
from parley.errors import ConfigError


@click.command()
@click.option("--host", default=C.GATEWAY_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=C.GATEWAY_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Processes."
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Listen beyond loopback without PARLEY_API_KEYS (something else must guard access).",
)
@click.option(
    "--max-body",
    type=click.IntRange(1),
    help=f"Largest request body in bytes [default: {C.GATEWAY_MAX_BODY_BYTES}].",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    help="Also answer /health and /ready on this port, from a process of their own, so that "
    "probes are answered at once however busy the gateway is [default: PARLEY_HEALTH_PORT].",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(
    host: str,
    port: int,
    workers: int,
    insecure: bool,
    max_body: int | None,
    health_port: int | None,
    access_log: bool,
    log_level: str,
) -> None:
    """Serve /v1/chat/completions with fusion as server tool, model alias and plugin.

    \b
    Point any OpenAI SDK at it:
      parley serve --port 8000
      OPENAI_BASE_URL=http://127.0.0.1:8000/v1 your-app
    API keys: PARLEY_API_KEYS=key1,key2 (clients send `Authorization: Bearer key1`).
    MCP (streamable HTTP) answers at /mcp with the `mcp` extra; its sessions and
    deliberation handles live in one process, so use it with a single worker.
    """
    import uvicorn

    from parley.gateway.auth import check_bind

    if health_port is not None:  # workers are separate processes: they read it from there
        export({"PARLEY_HEALTH_PORT": str(health_port), "PARLEY_HEALTH_HOST": host})
    try:
        settings = load_settings()  # a broken config file fails here, not on a request
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    keys = settings.api_keys
    refusal = check_bind(host, bool(keys), insecure)
    if refusal:
        raise click.UsageError(refusal)
    if max_body:
        export({"PARLEY_MAX_BODY_BYTES": str(max_body)})  # workers are separate processes
    guard = f"{len(keys)} API key(s)" if keys else "no API keys"
    click.echo(f"parley: gateway on http://{host}:{port}/v1 ({guard})", err=True)
    uvicorn.run(
        "parley.gateway.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        # Open connections get the grace period too; the app drains its own work in it.
        timeout_graceful_shutdown=math.ceil(settings.gateway.shutdown_grace),
    )
