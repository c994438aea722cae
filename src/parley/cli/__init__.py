"""The `parley` command: one module per command group."""

from __future__ import annotations

import click

from parley import __version__
from parley.cli.ask import ask


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parley")
def cli() -> None:
    """Parley: multi-model deliberation for any LLM.

    \b
    Example:
      parley ask "Should a small team adopt Kubernetes?"
    """


cli.add_command(ask)


def main() -> None:
    cli()
