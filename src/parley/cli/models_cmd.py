"""`parley models` and `parley presets`: what can be asked, and the named panels."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from parley.cli._common import cli_errors, load_cli_settings, out_console, print_json
from parley.config import Settings, load_keys
from parley.fusion.ways_in import ALIASES
from parley.http import new_session
from parley.models.local.files import local_model_ids
from parley.providers import BUILTIN

LIST_TIMEOUT_S = 10.0


def configured_providers(settings: Settings) -> list[dict[str, Any]]:
    """Providers that are usable as things stand: a key, a base URL, or a config entry."""
    saved = load_keys(settings.env)
    out: list[dict[str, Any]] = []
    for b in BUILTIN:
        key = settings.var(b.key_env) or saved.get(b.name)
        if key or settings.var(b.url_env):
            out.append({"name": b.name, "base_url": b.base_url(settings), "key": key})
    for name, prov in settings.providers.items():
        key = (settings.var(prov.key_env) if prov.key_env else None) or saved.get(name)
        out.append({"name": name, "base_url": prov.base_url, "key": key, "prefix": prov.prefix})
    return out


async def _list_one(session: Any, prov: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {prov['key']}"} if prov.get("key") else {}
    url = prov["base_url"].rstrip("/") + "/models"
    result: dict[str, Any] = {"name": prov["name"], "base_url": prov["base_url"], "models": []}
    prefix = prov.get("prefix")
    if prefix is None and prov["name"] not in {b.name for b in BUILTIN}:
        prefix = f"{prov['name']}/"
    try:
        async with asyncio.timeout(LIST_TIMEOUT_S):
            async with session.get(url, headers=headers) as resp:
                if resp.status != 200:
                    result["error"] = f"HTTP {resp.status} from {url}"
                    return result
                body = await resp.json(content_type=None)
    except Exception as exc:  # any failure to list is reported in place, never fatal
        result["error"] = f"cannot list models: {type(exc).__name__}: {exc}".rstrip(": ")
        return result
    ids = [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]
    result["models"] = sorted(f"{prefix or ''}{i}" for i in ids)
    return result


async def _list_all(providers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with new_session() as session:
        return list(await asyncio.gather(*(_list_one(session, p) for p in providers)))


def local_models(settings: Settings) -> list[str]:
    """The bundled offline models and any GGUF files named in the config; none without
    the `local` extra."""
    return local_model_ids(settings.local.models)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models(as_json: bool) -> None:
    """List the aliases, the local models, and what each configured provider offers.

    \b
    Examples:
      parley models
      parley models --json
    """
    with cli_errors():
        settings = load_cli_settings()
        providers = asyncio.run(_list_all(configured_providers(settings)))
    aliases = {a: f"preset {p or settings.preset}" for a, p in ALIASES.items()}
    data = {"aliases": aliases, "local": local_models(settings), "providers": providers}
    if as_json:
        print_json(data)
        return
    console = out_console()
    console.print("[bold]Aliases[/] (fusion with a preset's panel)")
    for alias, target in aliases.items():
        console.print(f"  {alias:<26} {target}")
    console.print("[bold]Local[/] (offline, in-process)")
    for m in data["local"]:
        console.print(f"  {m}")
    if not providers:
        console.print("No remote provider configured: `parley keys set openrouter`.")
    for p in providers:
        console.print(f"[bold]{escape(p['name'])}[/] {escape(p['base_url'])}")
        if p.get("error"):
            console.print(f"  [red]{escape(p['error'])}[/]")
        for m in p["models"]:
            console.print(f"  {escape(m)}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def presets(as_json: bool) -> None:
    """Show the named panels (built in and from the config file).

    \b
    Examples:
      parley presets
      parley ask --preset general-fast "Name three uses of graphene"
    """
    with cli_errors():
        settings = load_cli_settings()
    data = {
        name: {**p.model_dump(exclude_none=True), "default": name == settings.preset}
        for name, p in settings.presets.items()
    }
    if as_json:
        print_json(data)
        return
    table = Table(box=None, pad_edge=False)
    for col in ("preset", "panel", "judge", "outer"):
        table.add_column(col)
    for name, p in settings.presets.items():
        mark = " (default)" if name == settings.preset else ""
        outer = settings.outer_model_for(name)
        table.add_row(
            escape(name + mark),
            escape(", ".join(p.analysis_models)),
            escape(p.model or settings.judge_for(p.analysis_models, outer=outer)),
            escape(outer),
        )
    out_console().print(table)
