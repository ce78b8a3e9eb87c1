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
    from tradeloop.app.day_agent import DayAgentConfig
    from tradeloop.app.manage import DaySummary
    from tradeloop.app.parity import ParityReport
    from tradeloop.domain.backtest.parity import ParityTrade


def register(app: typer.Typer) -> None:
    """Add the top-level `manage` and `parity` commands to the root app."""
    app.command("manage")(manage)
    app.command("parity")(parity)


def manage(
    day: str | None = typer.Option(
        None, "--date", help="The IST trading day YYYY-MM-DD (default with --source live: today)."
    ),
    speed: float = typer.Option(
        0.0, min=0, help="Replay speed × real time (600: a session in ~40 s); 0 = fastest."
    ),
    source: str = typer.Option(
        "feed",
        help="feed: a stored day over the local replay of Dhan's feed; store: its stored "
        "minutes; live: today over Dhan's live feed (paper unless every live switch is set).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the day as JSON."),
    agent: str | None = typer.Option(
        None,
        help="Let the agent trade too, with the order tools: ollama (the local model, "
        "TRADELOOP_OLLAMA_*) or scripted (the calls of --agent-script each turn).",
    ),
    agent_script: Path | None = typer.Option(
        None, help='The scripted agent\'s calls: a JSON array of {"tool": ..., "args": {...}}.'
    ),
    agent_every: int = typer.Option(30, min=1, help="Session minutes between the agent's turns."),
) -> None:
    """Trade the active paper deployments through one stored session day, in paper; or, with
    --source live, today's session over Dhan's live market feed (Dhan credentials needed), in
    paper, or live with every live switch set (`tradeloop live check`).

    With --agent, the agent also takes a turn every --agent-every minutes: it sees the
    positions and the market and may place orders for deployed strategies, exit or tighten a
    stop; the system sizes and prices them and the risk manager decides.
    """
    current = settings()  # Prefect's home in the data dir, before the flow imports Prefect
    from tradeloop.cli._prefect import prefect_api
    from tradeloop.flows.manage import ManageParameters, manage_flow

    if source not in ("feed", "store", "live"):
        raise UserError(f"--source {source!r} is unknown: use feed, store or live")
    if day is None and source != "live":
        raise UserError(f"--date YYYY-MM-DD is needed to replay a stored day (--source {source})")
    if source == "live" and agent is not None:
        raise UserError(
            "--agent takes part in replayed days only (--source feed or store): its tools read "
            "the day's stored minutes, which a live session does not have yet"
        )
    parameters = ManageParameters(
        day=None if day is None else _day(day),
        speed=speed,
        source=source,  # type: ignore[arg-type]
        agent=_agent(agent, agent_script, agent_every),
    )
    if agent == "ollama":
        from tradeloop.cli.agent import check_ollama

        check_ollama(current)  # the fix printed alone, before Prefect starts
    with prefect_api():
        summary = manage_flow(parameters)
    if as_json:
        typer.echo(json.dumps(_summary_document(summary), indent=2, default=str))
        return
    from tradeloop.flows.manage import day_report, written_pages

    report = day_report(summary, written_pages(current, summary))
    console.print(report, markup=False, highlight=False, soft_wrap=True)


def _agent(planner: str | None, script: Path | None, every: int) -> DayAgentConfig | None:
    from tradeloop.app.day_agent import DayAgentConfig

    if planner is None:
        if script is not None:
            raise UserError("--agent-script is for --agent scripted: add it, or drop the script")
        return None
    if planner not in ("scripted", "ollama"):
        raise UserError(f"--agent {planner!r} is unknown: use ollama or scripted")
    if planner == "scripted" and script is None:
        raise UserError(
            '--agent scripted needs --agent-script FILE: a JSON array of {"tool": ..., '
            '"args": {...}} calls ending with a finish call'
        )
    calls = None
    if script is not None:
        from tradeloop.cli.agent import read_script

        calls = read_script(script, "--agent-script")
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise UserError(f'--agent-script {script} must be a JSON array of {{"tool": ...}}')
    return DayAgentConfig(planner=planner, script=calls, every_minutes=every)  # type: ignore[arg-type]


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
        "agent_turns": [
            {
                "run_id": t.run_id,
                "at": to_ist(t.at).isoformat(),
                "outcome": t.outcome,
                "steps": t.steps,
                "orders_placed": t.orders_placed,
                "refusals": list(t.refusals),
            }
            for t in summary.agent_turns
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
