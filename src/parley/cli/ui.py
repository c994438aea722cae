"""`parley ui`: the gateway on a free loopback port, with the web page opened in the
browser. The page's runs are logged (the CLI's log, unless `log = false` or `--no-log`),
so its history holds them and the CLI's and MCP's runs as well."""

from __future__ import annotations

import socket
import webbrowser

import click

from parley import _constants as C
from parley.cli._common import cli_errors, store_for
from parley.cli.ask import settings_for_ask


@click.command()
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port (default: a free one)."
)
@click.option("--no-open", is_flag=True, help="Print the address without opening a browser.")
@click.option("-n", "--no-log", is_flag=True, help="Keep no log of the page's runs.")
def ui(port: int, no_open: bool, no_log: bool) -> None:
    """Watch deliberations live in the browser, and read past ones.

    \b
    Serves the page on 127.0.0.1 only and prints its address on stdout:
      parley ui
      parley ui --port 8765 --no-open
    The same page is at / of `parley serve`.
    """
    import uvicorn

    from parley.gateway import create_app
    from parley.runtime import Setup

    with cli_errors():
        settings = settings_for_ask(None)  # no key: the offline models, as `ask` does
        app = create_app(Setup(settings=settings), log_store=store_for(settings, no_log=no_log))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((C.GATEWAY_HOST, port))
    except OSError as exc:
        raise click.UsageError(
            f"cannot listen on port {port}: {exc}; pick another with --port"
        ) from None
    # Listening before the browser is asked: its first request waits in the backlog.
    sock.listen(128)
    url = f"http://{C.GATEWAY_HOST}:{sock.getsockname()[1]}/"
    click.echo(url)
    if not no_open:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", server_header=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
