"""What every command shares: settings, consoles, the log, and errors as one clear line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console

from parley.config import Settings, debug_enabled, load_settings
from parley.errors import InvalidParameter, ParleyError
from parley.providers import Router
from parley.store import LogStore

DEBUG_ENV = "PARLEY_DEBUG"


def load_cli_settings(*, preset: str | None = None) -> Settings:
    """Settings as every command sees them: defaults < file < environment < flags."""
    settings = load_settings(overrides={"preset": preset} if preset else None)
    if preset:
        settings.preset_named(preset)  # an unknown name fails here, naming the known ones
    return settings


def out_console() -> Console:
    """stdout, looked up at call time so that test runners' captured streams are used."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def err_console() -> Console:
    """stderr, for progress and notices, looked up at call time like `out_console`."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def stderr_is_terminal() -> bool:
    """Whether to draw the live progress view (a terminal) or plain lines."""
    return sys.stderr.isatty()


def store_for(settings: Settings, *, no_log: bool = False) -> LogStore | None:
    """The log, unless `-n/--no-log` or `log = false` in the config turned it off."""
    return None if no_log or not settings.log else log_store(settings)


def log_store(settings: Settings | None = None) -> LogStore:
    """The log, masking every credential the configuration holds as it writes and reads."""
    settings = settings or load_cli_settings()
    return LogStore(settings.log_path(), redactor=Router(settings, None).redactor)


def print_json(value: Any) -> None:
    """`--json` output: indented, non-ASCII kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn Parley's errors into click's one-line errors; tracebacks only on PARLEY_DEBUG."""
    try:
        yield
    except InvalidParameter as exc:
        raise click.BadParameter(str(exc)) from None
    except ParleyError as exc:
        raise click.ClickException(str(exc)) from None


class Group(click.Group):
    """A click group whose unexpected errors print one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; Parley's and unexpected errors become one-line click errors."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except ParleyError as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            if debug_enabled():
                raise
            raise click.ClickException(
                f"unexpected error: {type(exc).__name__}: {exc} "
                f"(set {DEBUG_ENV}=1 to see the traceback, and please report it)"
            ) from None
