"""`parley keys`: provider API keys in a file only the user can read (0600)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from parley.cli._common import cli_errors, load_cli_settings, print_json
from parley.config import keys_path, load_keys
from parley.providers import BUILTIN

# The variable each built-in provider reads; a saved key is used when it is unset.
KEY_ENVS = {p.name: p.key_env for p in BUILTIN}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def mask(key: str) -> str:
    """Enough of a key to tell keys apart, never enough to use it."""
    if len(key) < 16:
        return "*" * 8
    return f"{key[:5]}…{key[-4:]}"


def write_keys(path: Path, keys: dict[str, str]) -> None:
    """Write the keys file readable by the user alone; replace atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask, or an old tmp file, may have left wider bits
        os.write(fd, (json.dumps(keys, indent=2, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


@click.group()
def keys() -> None:
    """Manage API keys (stored readable by you alone; never printed whole).

    \b
    Examples:
      parley keys set openrouter
      parley keys list
    """


@keys.command("set")
@click.argument("name")
def set_key(name: str) -> None:
    """Save the key for provider NAME, read from a hidden prompt or from stdin
    (never from the command line, where shell history and `ps` would keep it).

    \b
    Examples:
      parley keys set openrouter
      pass show openrouter | parley keys set openrouter
    """
    if not _NAME.match(name):
        raise click.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="NAME")
    if sys.stdin.isatty():
        value = click.prompt(f"Key for {name}", hide_input=True)
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise click.ClickException("no key given; nothing saved")
    with cli_errors():
        path = keys_path()
        current = load_keys()
        current[name] = value
        write_keys(path, current)
    click.echo(f"Saved the key for {name} ({mask(value)}) in {path}", err=True)
    known = sorted({*KEY_ENVS, *load_cli_settings().providers})
    if name not in known:
        click.echo(
            f"Note: no provider is named {name!r} (known: {', '.join(known)}); "
            "a provider in the config file uses the key saved under its name.",
            err=True,
        )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_keys(as_json: bool) -> None:
    """List saved keys, masked, and keys set in the environment.

    \b
    Example:
      parley keys list
    """
    with cli_errors():
        settings = load_cli_settings()
        saved = load_keys(settings.env)
    rows = [{"name": n, "key": mask(v), "source": "keys file"} for n, v in sorted(saved.items())]
    for name, var in KEY_ENVS.items():
        value = settings.var(var)
        if value:
            rows.append({"name": name, "key": mask(value), "source": f"${var}"})
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo("No keys yet: `parley keys set openrouter` saves one.")
    else:
        for r in rows:
            click.echo(f"{r['name']:<14} {r['key']:<14} {r['source']}")


@keys.command("remove")
@click.argument("name")
def remove_key(name: str) -> None:
    """Forget the saved key for provider NAME.

    \b
    Example:
      parley keys remove openai
    """
    with cli_errors():
        current = load_keys()
        if name not in current:
            raise click.ClickException(f"no saved key named {name!r}; `parley keys list`")
        del current[name]
        write_keys(keys_path(), current)
    click.echo(f"Removed the key for {name}.", err=True)


@keys.command("path")
def key_path() -> None:
    """Print where keys are stored.

    \b
    Example:
      parley keys path
    """
    click.echo(str(keys_path()))
