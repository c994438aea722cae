"""`parley config`: where the config file is, what is in force, and editing it."""

from __future__ import annotations

import json
from typing import Any

import click

from parley.cli._common import cli_errors, load_cli_settings, print_json
from parley.cli.keys import mask
from parley.config import BUILTIN_PRESETS, config_path, load_settings
from parley.redact import is_credential_header, redact_url

TEMPLATE = """\
# Parley's configuration. Precedence: built-in defaults < this file < environment < flags.
# Every key is optional; `parley config show` prints what is in force.

# model = "openai/gpt-4.1"                 # the outer model that writes the answer
# judge = "anthropic/claude-sonnet-4.5"    # the analyst that compares the panel
# panel = ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"]
# preset = "general-budget"               # the panel to use when `panel` is unset
# log = true                               # log every deliberation (`parley logs`)
# log_gateway = false                      # `parley serve` logs its fusion requests too
# alias_follows_config = false             # openrouter/fusion uses `panel`/`judge` above
# responses_upstreams = ["openrouter", "openai"]   # providers whose Responses API is used

# [presets.my-panel]
# analysis_models = ["ollama/llama3.2", "ollama/qwen2.5"]
# model = "ollama/qwen2.5"

# [providers.ollama]                       # any OpenAI-compatible server
# base_url = "http://localhost:11434/v1"
# key_env = "OLLAMA_API_KEY"
"""


# Headers whose value is `<scheme> <credentials>` (RFC 9110).
_AUTH_HEADERS = ("authorization", "proxy-authorization")


def mask_credentials(data: dict[str, Any]) -> dict[str, Any]:
    """Settings as dumped, with each provider's credential headers and the user-info of
    its base URL masked."""
    for prov in data.get("providers", {}).values():
        if prov.get("base_url"):
            prov["base_url"] = redact_url(prov["base_url"])
        headers = prov.get("headers") or {}
        for name, value in headers.items():
            if is_credential_header(name, value):
                scheme, _, rest = value.partition(" ")
                # Keep "Bearer" or "Basic" readable: it says what kind of credential it is.
                # Only there: a cookie's or a key's first word is as secret as the rest.
                if rest and name.lower() in _AUTH_HEADERS and scheme.isalpha():
                    headers[name] = f"{scheme} {mask(rest)}"
                else:
                    headers[name] = mask(value)
    return data


def _toml_value(value: Any) -> str:
    # JSON's strings, numbers, booleans and arrays are valid TOML for what settings hold.
    return json.dumps(value, ensure_ascii=False)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for the settings' shape: scalars and lists, then tables."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(lines)
    for name, table in tables:
        if table and all(isinstance(v, dict) for v in table.values()):
            out += "\n" + to_toml(table, f"{name}.")
        else:
            out += f"\n\n[{name}]\n" + to_toml(table, f"{name}.").lstrip("\n")
    return out.strip("\n") if not prefix else out


@click.group()
def config() -> None:
    """Show and edit the configuration file.

    \b
    Examples:
      parley config path
      parley config show
    """


@config.command("path")
def path_cmd() -> None:
    """Print the config file's path (PARLEY_CONFIG overrides it).

    \b
    Example:
      parley config path
    """
    click.echo(str(config_path()))


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in presets.")
def show(as_json: bool, show_all: bool) -> None:
    """Print the settings in force (file, environment and defaults merged).

    \b
    Example:
      parley config show --json
    """
    with cli_errors():
        data = mask_credentials(load_cli_settings().model_dump(exclude_none=True))
    if not show_all:
        data["presets"] = {
            k: v
            for k, v in data.get("presets", {}).items()
            if k not in BUILTIN_PRESETS or v != BUILTIN_PRESETS[k]
        }
    if as_json:
        print_json(data)
    else:
        click.echo(f"# {config_path()}")
        click.echo(to_toml(data))


@config.command()
def edit() -> None:
    """Open the config file in $EDITOR (created from a commented template if missing),
    then check it.

    \b
    Example:
      EDITOR=nano parley config edit
    """
    path = config_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE)
    click.edit(filename=str(path))
    with cli_errors():
        load_settings()  # a mistake shows now, naming the key, not at the next `ask`
    click.echo(f"{path} is valid.", err=True)
