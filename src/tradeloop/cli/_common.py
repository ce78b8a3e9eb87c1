"""Helpers shared by the command modules: settings, console, error reporting."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from tradeloop.errors import TradeloopError, UserError
from tradeloop.settings import Settings, configure_prefect_environment, load_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    """Load settings once per command and keep Prefect inside the data dir."""
    loaded = load_settings()
    configure_prefect_environment(loaded)
    return loaded


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for the user and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    try:
        app()
    except UserError as exc:
        # escape: messages name TOML sections ("[risk]") that rich would read as markup.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except TradeloopError as exc:
        err_console.print(f"[bold red]{type(exc).__name__}:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
