"""The `tradeloop` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

import typer

from tradeloop import __version__
from tradeloop.cli import (
    agent,
    api,
    backtest,
    config,
    data,
    deployments,
    feed,
    instruments,
    options,
    report,
    research,
    serve,
    session,
    strategy,
    trading,
)
from tradeloop.cli._common import unwrap_help

app = typer.Typer(
    name="tradeloop",
    help="Research, backtest and trade NIFTY/BANKNIFTY strategies. Paper trading is the default.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tradeloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tradeloop: an LLM plans, deterministic code validates, sizes, executes and manages."""


for module in (
    config,
    data,
    instruments,
    feed,
    options,
    strategy,
    backtest,
    report,
    research,
    agent,
    trading,
    deployments,
    session,
    serve,
    api,
):
    module.register(app)

unwrap_help(app)


def main() -> None:
    """Entry point of the `tradeloop` script: user errors print a message, not a traceback."""
    from tradeloop.cli._common import run_app

    run_app(app)
