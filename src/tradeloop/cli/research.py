"""`tradeloop research`: run the research flow and read the leaderboard from strategy memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.domain.money import rupees

if TYPE_CHECKING:
    from tradeloop.domain.research import LeaderboardRow

research_app = typer.Typer(help="Generate, backtest and score strategies.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(research_app, name="research")


def _rupees(value: float) -> str:
    return "-" if math.isnan(value) else rupees(value, paise=False)


def _number(value: float, digits: int = 2) -> str:
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def leaderboard_table(
    rows: Sequence[LeaderboardRow], min_score: float, title: str = "Leaderboard"
) -> Table:
    """The leaderboard as a trader reads it: out-of-sample numbers only."""
    table = Table(
        title=f"{title}: walk-forward, out-of-sample only (passes at score >= {min_score})",
        title_justify="left",
    )
    for header in (
        "#",
        "strategy",
        "symbol",
        "tf",
        "score",
        "gate",
        "trades",
        "win %",
        "PF",
        "net P&L",
        "return %",
        "max DD %",
        "Sharpe",
    ):
        left = header in ("strategy", "symbol", "tf", "gate")
        table.add_column(header, justify="left" if left else "right")
    for row in rows:
        table.add_row(
            str(row.rank),
            row.name,
            row.symbol,
            row.timeframe,
            f"{row.score:.3f}",
            "[green]PASS[/]" if row.passed else "[red]fail[/]",
            str(row.trades),
            _number(row.win_rate_pct, 1),
            _number(row.profit_factor),
            _rupees(row.net_pnl),
            _number(row.return_pct),
            _number(row.max_drawdown_pct),
            _number(row.sharpe),
        )
    return table


@research_app.command("run")
def run(
    spec_dir: Path | None = typer.Option(
        None, "--spec-dir", help="Directory of StrategySpec JSON files (e.g. examples/strategies)."
    ),
    templates: list[str] = typer.Option(
        [], "--templates", help="Add the built-in templates for this timeframe (repeatable)."
    ),
    random_count: int = typer.Option(0, "--random", help="Random specs per symbol."),
    symbols: list[str] = typer.Option(["NIFTY", "BANKNIFTY"], "--symbol"),
    start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD, IST)."),
    end: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, IST)."),
    folds: int | None = typer.Option(None, "--walk-forward", help="Walk-forward folds."),
    seed: int = typer.Option(7, help="Seed of the random search."),
) -> None:
    """Run the research flow (through Prefect) and print the leaderboard."""
    current = settings()
    from tradeloop.flows.research import ResearchParameters, research_flow

    parameters = ResearchParameters(
        symbols=symbols,
        spec_dir=str(spec_dir) if spec_dir else None,
        templates=templates,
        random_count=random_count,
        seed=seed,
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
        folds=folds,
    )
    rows = research_flow(parameters)
    console.print(leaderboard_table(rows, current.strategy.min_score))
    reasons = {row.reason for row in rows if row.reason}
    for reason in sorted(reasons)[:5]:
        console.print(f"  [dim]{reason}[/]")


@research_app.command("best")
def best(
    limit: int = typer.Option(10, help="How many strategies."),
    symbol: str | None = typer.Option(None, help="Only this symbol."),
    passed_only: bool = typer.Option(False, "--passed", help="Only strategies that passed."),
) -> None:
    """The best remembered strategies (latest evaluation of each), from strategy memory."""
    from tradeloop.app.stores import strategy_memory

    current = settings()
    records = strategy_memory(current).best(limit, symbol=symbol, passed_only=passed_only)
    table = Table(title="Strategy memory: best latest evaluations", title_justify="left")
    for header in (
        "strategy",
        "spec id",
        "symbol",
        "tf",
        "score",
        "passed",
        "regime",
        "trades",
        "net P&L",
        "evaluated (UTC)",
    ):
        table.add_column(header)
    for record in records:
        table.add_row(
            record.name,
            record.spec_id,
            record.symbol,
            record.timeframe,
            f"{record.score:.3f}",
            "yes" if record.passed else "no",
            record.regime,
            _number(record.metrics.get("trades", math.nan), 0),
            _rupees(record.metrics.get("net_pnl", math.nan)),
            record.evaluated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    if not records:
        console.print("nothing remembered yet: run `tradeloop research run --spec-dir ...`")
