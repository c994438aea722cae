"""The `parley` command: one module per command group."""

from __future__ import annotations

import click

from parley import __version__
from parley.cli._common import Group
from parley.cli.ask import ask
from parley.cli.config_cmd import config
from parley.cli.eval_cmd import eval_group
from parley.cli.keys import keys
from parley.cli.logs import logs
from parley.cli.mcp_cmd import mcp
from parley.cli.models_cmd import models, presets
from parley.cli.serve import serve
from parley.cli.ui import ui


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parley")
def cli() -> None:
    """Parley: multi-model deliberation for any LLM.

    A panel of models answers in parallel, a judge maps where they agree and disagree,
    and the outer model writes the answer. Answers go to stdout, progress to stderr.

    \b
    Examples:
      parley ask "Should a small team adopt Kubernetes?"
      parley logs -n 5
      parley ui                 # watch a deliberation in the browser
    """


cli.add_command(ask)
cli.add_command(logs)
cli.add_command(models)
cli.add_command(presets)
cli.add_command(config)
cli.add_command(keys)
cli.add_command(serve)
cli.add_command(ui)
cli.add_command(mcp)
cli.add_command(eval_group, name="eval")


def main() -> None:
    """The `parley` console script."""
    cli(prog_name="parley")  # also under `python -m parley`
