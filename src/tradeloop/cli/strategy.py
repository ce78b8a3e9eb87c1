"""`tradeloop strategy`: validate spec files, print the spec's JSON schema, list indicators."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from tradeloop.cli._common import console, err_console, fail
from tradeloop.errors import UserError

strategy_app = typer.Typer(
    help="Strategy specs: validate them, show their schema and the indicators they may use.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `strategy` command group to the root app."""
    app.add_typer(strategy_app, name="strategy")


@strategy_app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Strategy spec JSON file(s) to check."),
) -> None:
    """Check spec files: print OK, the id and a summary of the rules, or every problem with its
    fix (exit code 2 when any file is invalid)."""
    from tradeloop.domain.strategy.spec import load_spec
    from tradeloop.domain.strategy.summary import describe_spec

    invalid = 0
    for path in files:
        try:
            spec = load_spec(path)
        except UserError as exc:
            invalid += 1
            err_console.print(f"[bold red]INVALID[/] {exc}", highlight=False)
            continue
        console.print(f"[bold green]OK[/] {path}  id {spec.id}  ({spec.name})", highlight=False)
        console.print(describe_spec(spec), highlight=False, soft_wrap=False)
    if invalid:
        raise fail(f"{invalid} of {len(files)} spec file(s) invalid", code=2)


@strategy_app.command()
def schema() -> None:
    """Print the JSON schema of a strategy spec (what an LLM is asked to fill in)."""
    from tradeloop.domain.strategy.spec import StrategySpec

    typer.echo(json.dumps(StrategySpec.model_json_schema(), indent=2))


@strategy_app.command()
def indicators(
    as_json: bool = typer.Option(False, "--json", help="Print every indicator as JSON."),
) -> None:
    """List the indicators a spec may name, with their parameters, ranges and outputs."""
    from tradeloop.domain.indicators.registry import REGISTRY

    if as_json:
        from tradeloop.domain.indicators.reference import catalogue

        document = catalogue()
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    table = Table(title='Indicators (an operand is {"indicator": name, param: value, ...})')
    table.add_column("name", style="bold")
    table.add_column("parameters (default, range)")
    table.add_column("outputs (first = default)")
    table.add_column("description")
    for name, definition in REGISTRY.items():
        params = "\n".join(
            f"{param.name}={_number(param.default)} ({param.describe_range()})"
            for param in definition.params
        )
        outputs = ", ".join(
            f"{output} ({definition.unit(output)})" if definition.units else output
            for output in definition.outputs
        )
        table.add_row(name, escape(params) or "-", escape(outputs), escape(definition.description))
    console.print(table)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
