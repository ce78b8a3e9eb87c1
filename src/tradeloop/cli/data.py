"""`tradeloop data`: generate the synthetic market, import candle and implied-volatility files,
list series, find gaps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column, Table

from tradeloop.cli import data_fetch
from tradeloop.cli._common import compact_table, console, parse_day, settings
from tradeloop.cli._plausibility import ALLOW_FUTURE_OPTION, MAX_MOVE_OPTION, plausibility_rules
from tradeloop.errors import ConfigError, DataValidationError, UserError

if TYPE_CHECKING:
    from rich.progress import Progress

    from tradeloop.storage import Gap

# The bar intervals of `domain.market.candles.INTERVALS`, written out for the help text: that
# module imports polars, which `tradeloop --help` must not pay for (a test keeps them equal).
INTERVALS_HELP = "1m, 5m, 15m, 30m, 1h, 1d"

data_app = typer.Typer(
    help="Candles: generate the synthetic market, import files, list series, find gaps.",
    no_args_is_help=True,
)
iv_app = typer.Typer(
    help="Implied volatility for option backtests: import a daily series such as India VIX.",
    no_args_is_help=True,
)
data_app.add_typer(iv_app, name="iv")
DEFAULT_SYMBOLS = ["NIFTY", "BANKNIFTY"]
GAPS_SHOWN = 50


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(data_app, name="data")
    data_fetch.register(data_app)


def _ist(moment: datetime) -> str:
    """A table cell: the IST time without the suffix the column header already states."""
    from tradeloop.domain.market.refusals import format_ist

    return format_ist(moment).removesuffix(" IST")


def _iso(moment: datetime) -> str:
    """A JSON time: IST with its offset, as the API writes it."""
    from tradeloop.domain.market.calendar import to_ist

    return to_ist(moment).isoformat()


def _table(*columns: Column) -> Table:
    # No vertical rules: a series row fits an 80-column terminal without wrapping.
    return compact_table(None, *columns)


def _text(header: str) -> Column:
    return Column(header, no_wrap=True)


def _time(header: str) -> Column:
    return Column(header, no_wrap=True)


def _number(header: str) -> Column:
    return Column(header, justify="right", no_wrap=True)


@contextmanager
def _progress() -> Iterator[Progress]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


@data_app.command("synth")
def synth(
    symbols: list[str] = typer.Option(
        DEFAULT_SYMBOLS, "--symbol", help="Index to generate; repeat for several."
    ),
    days: int = typer.Option(250, min=1, help="Trading sessions to generate."),
    seed: int = typer.Option(7, min=0, help="Same seed, same candles."),
    start: str | None = typer.Option(
        None, help="First day (YYYY-MM-DD); sessions start on or after it. Default 2025-01-01."
    ),
    regime: str = typer.Option(
        "null",
        help="null: no edge; planted: mean reversion after large 5-minute moves (docs/data.md).",
    ),
    edge_strength: float | None = typer.Option(
        None,
        help="Planted regime: fraction of a large 5-minute move given back, 0 to 0.8; "
        "default: the generator's (docs/data.md).",
    ),
) -> None:
    """Generate deterministic synthetic minute candles and implied volatility, and store them."""
    from tradeloop.app import stores
    from tradeloop.domain.market.synthetic import generate_market

    first_day = parse_day(start, "--start")
    edge = _edge_options(regime, edge_strength)
    current = settings()
    store, volatility = stores.candle_store(current), stores.volatility_store(current)
    table = _table(
        _text("symbol"),
        _number("rows"),
        _time("first (IST)"),
        _time("last (IST)"),
        _number("iv days"),
    )
    with _progress() as progress:
        task = progress.add_task("generating", total=len(symbols) * 2)
        for symbol in symbols:
            progress.update(task, description=f"generating {symbol}")
            options: dict[str, Any] = {"days": days, "seed": seed, **edge}
            if first_day is not None:
                options["start"] = first_day
            market = generate_market(symbol, **options)
            progress.update(task, advance=1, description=f"writing {market.symbol}")
            store.write(market.candles)
            volatility.write(market.implied_volatility)
            progress.advance(task)
            candles = market.candles
            table.add_row(
                market.symbol,
                f"{candles.height:,}",
                _ist(candles["ts"][0]),
                _ist(candles["ts"][-1]),
                str(market.implied_volatility.height),
            )
    console.print(table)
    console.print(f"stored under {store.root}; next: `tradeloop data ls`")


def _edge_options(regime: str, edge_strength: float | None) -> dict[str, Any]:
    """The generator's regime arguments; a bad --regime or --edge-strength is a ConfigError."""
    from tradeloop.domain.market.planted import MARKET_REGIMES, check_edge

    if regime not in MARKET_REGIMES:
        raise ConfigError(f"--regime {regime!r}: use {' or '.join(MARKET_REGIMES)}")
    if edge_strength is None:
        return {"regime": regime}
    if regime == "null":
        raise ConfigError(
            "--edge-strength applies to the planted market only: add --regime planted"
        )
    try:
        check_edge(regime, edge_strength)
    except ConfigError as exc:
        raise ConfigError(
            f"--edge-strength {edge_strength:g}: {str(exc).split(': ', 1)[1]}"
        ) from None
    return {"regime": regime, "edge_strength": edge_strength}


@data_app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="CSV or Parquet file of candles."),
    symbol: str = typer.Option(..., help="Symbol the candles belong to, e.g. NIFTY."),
    interval: str = typer.Option(..., help=f"Bar interval: {INTERVALS_HELP}."),
    timezone: str = typer.Option(
        "Asia/Kolkata", help="Clock of timestamps that carry no timezone (IANA name)."
    ),
    max_move: float | None = MAX_MOVE_OPTION,
    allow_future: bool = ALLOW_FUTURE_OPTION,
) -> None:
    """Import a candle file: validated whole, upserted by timestamp, nothing written if refused."""
    from tradeloop.app import stores
    from tradeloop.clock import SystemClock
    from tradeloop.domain.market.refusals import format_ist
    from tradeloop.storage.importer import read_candle_file

    current = settings()
    rules = plausibility_rules(current, max_move, allow_future)
    store = stores.candle_store(current)
    with _progress() as progress:
        task = progress.add_task(f"reading {file.name}", total=2)
        result = read_candle_file(file, symbol, interval, timezone)
        progress.update(task, advance=1, description=f"writing {result.frame.height:,} rows")
        try:
            report = store.write_plausible(result.frame, rules, SystemClock().now())
        except DataValidationError as exc:
            raise DataValidationError(
                f"{file}: nothing was imported. {exc}\n(rows count the file's data rows from 0; "
                "in a CSV, line = row + 2)"
            ) from exc
        progress.advance(task)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    timestamps = result.frame["ts"]
    console.print(
        f"wrote {report.rows_written:,} {symbol.upper()} {interval} rows "
        f"({report.rows_inserted:,} new, {report.rows_replaced:,} replaced) "
        f"from {format_ist(timestamps[0])} to {format_ist(timestamps[-1])}",
        highlight=False,
    )


@iv_app.command("import")
def import_implied_volatility(
    file: Path = typer.Argument(..., help="CSV or Parquet file with one row per day."),
    symbol: str = typer.Option(..., help="Index the series is for: NIFTY or BANKNIFTY."),
    percent: bool = typer.Option(
        False, "--percent", help="Values are percent (India VIX 14.2): divided by 100."
    ),
    decimal: bool = typer.Option(
        False, "--decimal", help="Values are annualised fractions (0.142): stored as they are."
    ),
    day_column: str = typer.Option(
        "day", help="Column of days (YYYY-MM-DD, or 02-Jan-2025) or timestamps (their IST day)."
    ),
    iv_column: str = typer.Option("iv", help="Column of implied volatilities."),
) -> None:
    """Import daily implied volatility: validated whole, upserted by day, nothing written if
    refused."""
    import polars as pl

    from tradeloop.app import stores
    from tradeloop.domain.market.instruments import index_instrument
    from tradeloop.storage.iv_import import ROWS_NOTE, IvUnit, read_iv_file

    name = index_instrument(symbol).symbol
    if percent and decimal:
        raise UserError("--percent and --decimal: pass one, the unit of the file's values")
    unit: IvUnit | None = "percent" if percent else "decimal" if decimal else None
    read = read_iv_file(file, day_column=day_column, iv_column=iv_column, unit=unit)
    frame = pl.DataFrame({"symbol": name, "day": read["day"], "iv": read["iv"]})
    store = stores.volatility_store(settings())
    try:
        report = store.write(frame)
    except DataValidationError as exc:
        raise DataValidationError(f"{file}: nothing was imported. {exc}\n{ROWS_NOTE}") from exc
    stored = store.load(name)["day"]
    console.print(
        f"wrote {report.rows_written:,} {name} implied-volatility days "
        f"({report.rows_inserted:,} new, {report.rows_replaced:,} replaced); {name} now has "
        f"{stored.len():,} days stored, from {stored[0]} to {stored[-1]}",
        highlight=False,
    )


@data_app.command("ls")
def list_series(
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (times IST with their offset) for scripts."
    ),
) -> None:
    """List the stored candle series."""
    from tradeloop.app import stores

    current = settings()
    store = stores.candle_store(current)
    summaries = store.series()
    if as_json:
        series = [
            {
                "symbol": summary.symbol,
                "interval": summary.interval,
                "rows": summary.rows,
                "first": _iso(summary.first),
                "last": _iso(summary.last),
                "sessions": summary.sessions,
            }
            for summary in summaries
        ]
        with_iv = stores.volatility_store(current).symbols()
        listing = {"series": series, "implied_volatility": list(with_iv)}
        typer.echo(json.dumps(listing, indent=2))
        return
    if not summaries:
        console.print(
            f"no candles under {store.root} yet: run `tradeloop data synth` or "
            "`tradeloop data import FILE --symbol S --interval 1m`"
        )
        return
    table = _table(
        _text("symbol"),
        _text("interval"),
        _number("rows"),
        _time("first (IST)"),
        _time("last (IST)"),
        _number("sessions"),
    )
    for summary in summaries:
        table.add_row(
            summary.symbol,
            summary.interval,
            f"{summary.rows:,}",
            _ist(summary.first),
            _ist(summary.last),
            f"{summary.sessions:,}",
        )
    console.print(table)
    with_iv = stores.volatility_store(current).symbols()
    if with_iv:
        console.print(f"implied volatility stored for: {', '.join(with_iv)}")


@data_app.command("gaps")
def gaps(
    symbol: str = typer.Option(..., help="Symbol to check."),
    interval: str = typer.Option("1m", help=f"Bar interval: {INTERVALS_HELP}."),
    from_day: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD); default the series' first day."
    ),
    to_day: str | None = typer.Option(
        None, "--to", help="Last day, inclusive; default the series' last day."
    ),
    limit: int = typer.Option(GAPS_SHOWN, min=1, help="Gaps to list at most."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print JSON for scripts: every gap (not only --limit), times IST with their offset.",
    ),
) -> None:
    """Find bars missing inside NSE sessions, grouped into contiguous runs."""
    from tradeloop.app import stores
    from tradeloop.domain.market.calendar import IST

    start, end = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    store = stores.candle_store(settings())
    if start is None or end is None:
        stored = store.load(symbol, interval)  # also names unknown symbols and intervals
        if stored.is_empty():
            if as_json:
                typer.echo(json.dumps(_gaps_json(symbol, interval, None, None, []), indent=2))
                return
            console.print(f"no {interval} candles stored for {symbol.upper()}")
            return
        start = start or stored["ts"][0].astimezone(IST).date()
        end = end or stored["ts"][-1].astimezone(IST).date()
    if end < start:
        raise UserError(f"--from/--to: {end} is before {start}; swap them")
    found = store.gaps(symbol, interval, start, end)
    if as_json:
        typer.echo(json.dumps(_gaps_json(symbol, interval, start, end, found), indent=2))
        return
    if not found:
        console.print(f"no gaps in {symbol.upper()} {interval} from {start} to {end}")
        return
    table = _table(_time("from (IST)"), _time("to (IST)"), _number("missing bars"))
    for gap in found[:limit]:
        table.add_row(_ist(gap.start), _ist(gap.end), f"{gap.count:,}")
    console.print(table)
    missing = sum(gap.count for gap in found)
    more = f" (first {limit} shown; --limit to see more)" if len(found) > limit else ""
    console.print(
        f"{len(found):,} gaps, {missing:,} missing bars in {symbol.upper()} {interval} "
        f"from {start} to {end}{more}"
    )


def _gaps_json(
    symbol: str, interval: str, start: date | None, end: date | None, found: list[Gap]
) -> dict[str, Any]:
    return {
        "symbol": symbol.upper(),
        "interval": interval,
        "from": None if start is None else start.isoformat(),
        "to": None if end is None else end.isoformat(),
        "missing_bars": sum(gap.count for gap in found),
        "gaps": [
            {"start": _iso(gap.start), "end": _iso(gap.end), "missing_bars": gap.count}
            for gap in found
        ],
    }
