"""Trading days from the command line: `tradeloop manage` and `tradeloop parity`.

`tradeloop manage --date D [--speed N]` runs the manage flow: the active paper deployments
traded through the stored session D, its prices replayed over the local Dhan feed, then the
day's trades, P&L after costs and refused entries printed and remembered.

`tradeloop parity SPEC.json --date D` runs the spec alone through a paper session of the day
(the position manager, the risk manager, the paper broker, fed the day's stored minutes) and
through the backtest on the same warm-up, prints both trade lists side by side with what
differs, and the paper session's refused entries with their reasons. Exit code 0 when they
match, 1 when they differ.
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
    from tradeloop.app.manage import DaySummary
    from tradeloop.app.parity import ParityReport
    from tradeloop.domain.backtest.parity import ParityTrade


def register(app: typer.Typer) -> None:
    """Add the top-level `manage` and `parity` commands to the root app."""
    app.command("manage")(manage)
    app.command("parity")(parity)


def manage(
    day: str = typer.Option(..., "--date", help="The IST trading day YYYY-MM-DD to trade."),
    speed: float = typer.Option(
        0.0, min=0, help="Replay speed × real time (600: a session in ~40 s); 0 = fastest."
    ),
    source: str = typer.Option(
        "feed", help="feed: over the local replay of Dhan's feed; store: the stored minutes."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the day as JSON."),
) -> None:
    """Trade the active paper deployments through one stored session day, in paper."""
    settings()  # Prefect's home inside the data dir, before the flow module imports Prefect
    from tradeloop.cli._prefect import prefect_api
    from tradeloop.flows.manage import ManageParameters, manage_flow

    if source not in ("feed", "store"):
        raise UserError(f"--source {source!r} is unknown: use feed or store")
    parameters = ManageParameters(day=_day(day), speed=speed, source=source)  # type: ignore[arg-type]
    with prefect_api():
        summary = manage_flow(parameters)
    if as_json:
        typer.echo(json.dumps(_summary_document(summary), indent=2, default=str))
        return
    from tradeloop.flows.manage import day_report

    console.print(day_report(summary), markup=False, highlight=False, soft_wrap=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r} is not a date: use YYYY-MM-DD") from None


def _summary_document(summary: DaySummary) -> dict[str, Any]:
    from tradeloop.domain.market.calendar import to_ist

    return {
        "day": summary.day.isoformat(),
        "strategies": [{"id": sid, "name": name} for sid, name in summary.strategies],
        "minutes": summary.minutes,
        "decisions": summary.decisions,
        "net_pnl": summary.net_pnl,
        "costs": summary.costs,
        "trades": [
            {
                "strategy_id": t.strategy_id,
                "direction": t.direction,
                "quantity": t.quantity,
                "entry_time": to_ist(t.entry_time).isoformat(),
                "entry_price": t.entry_price,
                "exit_time": to_ist(t.exit_time).isoformat(),
                "exit_price": t.exit_price,
                "exit_reason": t.exit_reason.value,
                "costs": t.costs,
                "net_pnl": t.net_pnl,
            }
            for t in summary.trades
        ],
        "refusals": [
            {"strategy_id": r.strategy_id, "at": to_ist(r.at).isoformat(), "reason": r.reason}
            for r in summary.refusals
        ],
    }


def parity(
    spec_file: Path = typer.Argument(..., help="Strategy spec JSON file.", metavar="SPEC.json"),
    day: str = typer.Option(..., "--date", help="The IST trading day YYYY-MM-DD to replay."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Trade SPEC.json on one stored day in paper and in the backtest; print both and the
    differences (exit code 1 when they differ)."""
    from tradeloop.app.parity import parity as run_parity
    from tradeloop.domain.strategy.spec import load_spec

    report = run_parity(settings(), load_spec(spec_file), _day(day))
    if as_json:
        typer.echo(json.dumps(_document(report), indent=2, default=str))
    else:
        print_parity(report)
    raise typer.Exit(0 if report.matches else 1)


def print_parity(report: ParityReport) -> None:
    """The report: both trade lists side by side, what differs, the refused entries."""
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
