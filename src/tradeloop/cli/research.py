"""`tradeloop research`: run the research flow and read the leaderboard from strategy memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.table import Table

from tradeloop.cli._common import console, settings
from tradeloop.domain.money import rupees
from tradeloop.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from tradeloop.domain.research import LeaderboardRow
    from tradeloop.flows.research import ResearchParameters
    from tradeloop.settings import Settings

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


# The option of `research run` that sets each ResearchParameters field, and what a valid value is.
_OPTIONS: dict[str, tuple[str, str]] = {
    "symbols": ("--symbol", "give NIFTY or BANKNIFTY (repeat --symbol for both)"),
    "spec_dir": ("--spec-dir", "give a directory of StrategySpec JSON files"),
    "templates": ("--templates", "give a timeframe such as 5m or 15m"),
    "random_count": ("--random", "give a whole number of random specs per symbol, 0 to 100000"),
    "seed": ("--seed", "give a whole number, 0 or more"),
    "start": ("--from", "give a day as YYYY-MM-DD"),
    "end": ("--to", "give a day as YYYY-MM-DD, on or after --from"),
    "folds": ("--walk-forward", "give a number of folds from 1 to 20, or leave it out"),
    "batch_size": ("--batch-size", "give a whole number of specs per batch, 1 to 100000"),
}


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"invalid option {option} {text!r}: not a day; give a day as YYYY-MM-DD "
            "(e.g. 2025-03-03)"
        ) from None


def _spec_dir(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.exists():
        raise UserError(
            f"invalid option --spec-dir {path}: it does not exist; give a directory of "
            "StrategySpec JSON files (e.g. examples/strategies)"
        )
    if not path.is_dir():
        raise UserError(
            f"invalid option --spec-dir {path}: it is a file, not a directory; give the "
            "directory that holds it (every *.json in it is read)"
        )
    return str(path)


def research_parameters(**options: object) -> ResearchParameters:
    """The flow's parameters from the command's options; a refused value is a `UserError`
    naming the option and a valid value, raised before Prefect starts."""
    from tradeloop.flows.research import ResearchParameters

    try:
        return ResearchParameters.model_validate(options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            if not error["loc"]:  # a rule across options (--from and --to): it names them
                problems.append(f"--from/--to: {message}")
                continue
            field = str(error["loc"][0])
            option, remedy = _OPTIONS.get(field, (f"--{field.replace('_', '-')}", ""))
            given = error.get("input")
            shown = f" {given}" if isinstance(given, int | str) else ""
            problems.append(f"{option}{shown}: {message}" + (f"; {remedy}" if remedy else ""))
        raise UserError("invalid option " + "; ".join(problems)) from None


def _symbols_to_research(parameters: ResearchParameters) -> list[str]:
    """The symbols the flow will load candles for. Every spec file is read (a bad one is a
    `SpecError` naming the file, now rather than from inside the flow); templates and random
    specs are made for every symbol, specs from --spec-dir only for their own."""
    from tradeloop.domain.strategy.spec import load_spec

    from_files: set[str] = set()
    if parameters.spec_dir is not None:
        from_files = {
            load_spec(path).symbol for path in sorted(Path(parameters.spec_dir).glob("*.json"))
        }
    if parameters.templates or parameters.random_count:
        return list(parameters.symbols)
    return [symbol for symbol in parameters.symbols if symbol in from_files]


def _check_candles(current: Settings, parameters: ResearchParameters) -> None:
    """Refuse a symbol without 1m candles in the window now, rather than from inside the flow."""
    symbols = _symbols_to_research(parameters)
    if not symbols:
        return
    from tradeloop.app.stores import candle_store
    from tradeloop.domain.market.calendar import IST

    stored = {
        series.symbol: series
        for series in candle_store(current).series()
        if series.interval == "1m"
    }
    missing = [symbol for symbol in symbols if symbol not in stored]
    if missing:
        listed = ", ".join(sorted(stored)) or "nothing yet"
        raise NotFoundError(
            f"no 1m candles for {', '.join(missing)} in the candle store (1m candles stored: "
            f"{listed}): import them with `tradeloop data import` or `tradeloop data synth`, "
            "or choose another --symbol"
        )
    for symbol in symbols:
        first = stored[symbol].first.astimezone(IST).date()
        last = stored[symbol].last.astimezone(IST).date()
        too_late = parameters.start is not None and parameters.start > last
        too_early = parameters.end is not None and parameters.end < first
        if too_late or too_early:
            raise UserError(
                f"no 1m candles for {symbol} from {parameters.start or 'the first day'} to "
                f"{parameters.end or 'the last day'}: the store holds {first} to {last}; choose "
                "--from/--to inside it, or import the days you want"
            )


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
    batch_size: int = typer.Option(
        200, "--batch-size", help="Specs evaluated and remembered together."
    ),
) -> None:
    """Run the research flow (through Prefect) and print the leaderboard.

    Evaluations are remembered batch by batch: a run stopped part-way keeps its finished
    batches, and a re-run with the same options evaluates only what memory does not hold.
    """
    current = settings()
    parameters = research_parameters(
        symbols=symbols,
        spec_dir=_spec_dir(spec_dir),
        templates=templates,
        random_count=random_count,
        seed=seed,
        start=_day(start, "--from"),
        end=_day(end, "--to"),
        folds=folds,
        batch_size=batch_size,
    )
    _check_candles(current, parameters)
    from tradeloop.cli._prefect import prefect_api
    from tradeloop.flows.research import research_flow

    with prefect_api():
        result = research_flow(parameters)
    rows = result.leaderboard
    console.print(leaderboard_table(rows, current.strategy.min_score))
    if result.reused:
        console.print(
            f"Reused {result.reused} evaluation(s) from strategy memory (same specs, candles, "
            f"costs and settings); evaluated {result.evaluated}.",
            highlight=False,
        )
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
