"""Every command and group of the CLI has `--help`, and every help shows an example command
line."""

from __future__ import annotations

import re

from click.testing import CliRunner

from parley.cli import cli


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    paths = [[]]
    seen: list[list[str]] = []
    while paths:
        path = paths.pop()
        seen.append(path)
        res = runner.invoke(cli, [*path, "--help"])
        assert res.exit_code == 0, (path, res.output)
        # An example is an indented command line, perhaps piped into or with a variable set.
        assert re.search(r"^ +(\S+ \| |[A-Z_]+=\S+ )?parley ", res.output, re.M), path
        cmd = cli
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        for name in getattr(cmd, "commands", {}):
            paths.append([*path, name])
    assert ["logs", "show"] in seen and ["keys", "set"] in seen and ["config", "edit"] in seen
