"""`tradeloop parity SPEC.json --date D`: a spec's trades on one day, paper beside backtest.

Runs the spec alone through a paper session of the day (the position manager, the risk
manager, the paper broker, fed the day's stored minutes) and through the backtest on the same
warm-up, prints both trade lists side by side with what differs, and the paper session's
refused entries with their reasons. Exit code 0 when they match, 1 when they differ.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.domain.money import rupees
from tradeloop.errors import UserError

if TYPE_CHECKING:
    from tradeloop.app.parity import ParityReport
    from tradeloop.domain.backtest.parity import ParityTrade


def register(app: typer.Typer) -> None:
    """Add the top-level `parity` command to the root app."""
    app.command("parity")(parity)


def parity(
    spec_file: Path = typer.Argument(..., help="Strategy spec JSON file.", metavar="SPEC.json"),
    day: str = typer.Option(..., "--date", help="The IST trading day YYYY-MM-DD to replay."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Trade SPEC.json on one stored day in paper and in the backtest; print both and the
    differences (exit code 1 when they differ)."""
    from tradeloop.app.parity import parity as run_parity
    from tradeloop.domain.strategy.spec import load_spec

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise UserError(f"--date {day!r} is not a date: use YYYY-MM-DD") from None
    report = run_parity(settings(), load_spec(spec_file), when)
    if as_json:
        typer.echo(json.dumps(_document(report), indent=2, default=str))
    else:
        _print(report)
    raise typer.Exit(0 if report.matches else 1)


def _print(report: ParityReport) -> None:
    spec = report.spec
    console.print(
        f"[bold]{spec.name}[/]  {spec.symbol} {spec.timeframe}  {report.day}: "
        f"{report.decisions} entries decided",
        highlight=False,
    )
    table = Table(
        "entry",
        "paper",
        "backtest",
        "differs in",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for row in report.rows:
        entry = row.paper or row.backtest
        assert entry is not None
        table.add_row(
            _ist(entry.entry_time),
            _trade(row.paper),
            _trade(row.backtest),
            ", ".join(row.differences) or "-",
        )
    console.print(table)
    for refusal in report.refusals:
        console.print(
            f"  refused at {_ist(refusal.at)}: {refusal.reason}", highlight=False, markup=False
        )
    verdict = "[bold green]match[/]" if report.matches else "[bold red]differ[/]"
    console.print(f"paper and backtest {verdict} trade for trade", highlight=False)


def _trade(trade: ParityTrade | None) -> str:
    if trade is None:
        return "-"
    return (
        f"{'L' if trade.direction > 0 else 'S'} {trade.quantity} "
        f"{trade.entry_price:.2f}→{trade.exit_price:.2f} {_ist(trade.exit_time)} "
        f"{trade.exit_reason} {rupees(trade.net_pnl, paise=False)}"
    )


def _ist(moment: Any) -> str:
    from tradeloop.domain.market.calendar import to_ist

    return to_ist(moment).strftime("%H:%M")


def _document(report: ParityReport) -> dict[str, Any]:
    def trade(value: ParityTrade | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from dataclasses import asdict

        from tradeloop.domain.market.calendar import to_ist

        document = asdict(value)
        document["entry_time"] = to_ist(value.entry_time).isoformat()
        document["exit_time"] = to_ist(value.exit_time).isoformat()
        return document

    return {
        "spec_id": report.spec.id,
        "name": report.spec.name,
        "day": report.day.isoformat(),
        "matches": report.matches,
        "decisions": report.decisions,
        "rows": [
            {
                "paper": trade(row.paper),
                "backtest": trade(row.backtest),
                "differences": list(row.differences),
            }
            for row in report.rows
        ],
        "refusals": [
            {"at": refusal.at.isoformat(), "reason": refusal.reason} for refusal in report.refusals
        ],
    }
