"""`tradeloop options`: index option chains (a model's, priced from what is stored, or Dhan's)
and their expiries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column

from tradeloop.cli._common import compact_table, console, parse_day, settings

SOURCES = ("model", "dhan")

if TYPE_CHECKING:
    from tradeloop.domain.options.chain import OptionChain

options_app = typer.Typer(
    help="Index options: chains with implied volatility and Greeks.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(options_app, name="options")


@options_app.command("chain")
def chain(
    symbol: str = typer.Option("NIFTY", "--symbol", help="NIFTY or BANKNIFTY."),
    expiry: str | None = typer.Option(
        None,
        "--expiry",
        help="Expiry day, YYYY-MM-DD (default: the current weekly, else the monthly).",
    ),
    strikes: int = typer.Option(
        5, "--strikes", min=0, max=50, help="Strikes each side of the at-the-money one."
    ),
    source: str = typer.Option(
        "model", "--source", help="model (priced from what is stored) or dhan (Dhan's chain)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The chain around the money: CE and PE side by side.

    --source model (the default): the model's prices as of the last stored minute
    (Black-Scholes on the stored spot, the day's stored IV and the \\[options] smile), not market
    quotes: no bid-ask, no open interest. --source dhan: Dhan's chain now (last traded prices,
    Dhan's IV and Greeks, open interest); needs TRADELOOP_DHAN_CLIENT_ID and
    TRADELOOP_DHAN_ACCESS_TOKEN; default expiry: the nearest Dhan lists.
    """
    from tradeloop.app.options import dhan_chain, stored_chain

    _check_source(source)
    day = parse_day(expiry, "--expiry")
    if source == "dhan":
        found = dhan_chain(settings(), symbol, day, strikes)
    else:
        found = stored_chain(settings(), symbol, expiry=day, strikes_each_side=strikes)
    if as_json:
        typer.echo(json.dumps(_as_json(found, strikes), indent=2))
        return
    _print(found, strikes)


@options_app.command("expiries")
def expiries(
    symbol: str = typer.Option("NIFTY", "--symbol", help="NIFTY or BANKNIFTY."),
    source: str = typer.Option(
        "model",
        "--source",
        help="model (the expiry calendar, 90 days from today) or dhan (Dhan's expiry list).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of days."),
) -> None:
    """The option expiries of an index, one day a line."""
    from tradeloop.app.options import dhan_expiries, model_expiries

    _check_source(source)
    cut_at = None
    if source == "dhan":
        days = dhan_expiries(settings(), symbol)
    else:
        days, cut_at = model_expiries(settings(), symbol)
    if as_json:
        typer.echo(json.dumps([day.isoformat() for day in days]))
        return
    for day in days:
        typer.echo(f"{day.isoformat()} {day:%a}")
    if cut_at is not None:
        console.print(
            f"(listed to {cut_at}: the NSE holiday table ends there, and an expiry on a holiday "
            "moves; add later holidays with [market] holidays_file to see further)",
            highlight=False,
            markup=False,
        )


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise typer.BadParameter(
            f"{source!r} is not a source: use model or dhan", param_hint="--source"
        )


def _print(found: OptionChain, strikes: int) -> None:
    from tradeloop.domain.market.calendar import to_ist
    from tradeloop.domain.money import rupees

    console.print(
        f"{found.symbol} {found.expiry} ({found.source} prices) as of "
        f"{to_ist(found.as_of):%Y-%m-%d %H:%M} IST: spot {rupees(found.spot)}, forward "
        f"{rupees(found.forward)}, {found.time * 365:.2f} days to expiry",
        highlight=False,
    )
    table = compact_table(
        None,
        Column("CE Δ", justify="right", no_wrap=True),
        Column("CE IV%", justify="right", no_wrap=True),
        Column("CE", justify="right", no_wrap=True),
        Column("strike", justify="right", style="bold", no_wrap=True),
        Column("PE", justify="right", no_wrap=True),
        Column("PE IV%", justify="right", no_wrap=True),
        Column("PE Δ", justify="right", no_wrap=True),
    )
    rows = found.around(strikes)
    calls = rows.filter(rows["option_type"] == "CE").sort("strike")
    puts = rows.filter(rows["option_type"] == "PE").sort("strike")
    for call, put in zip(calls.iter_rows(named=True), puts.iter_rows(named=True), strict=True):
        table.add_row(
            f"{call['delta']:.2f}",
            f"{call['iv'] * 100:.1f}",
            rupees(call["price"]),
            f"{call['strike']:,.0f}",
            rupees(put["price"]),
            f"{put['iv'] * 100:.1f}",
            f"{put['delta']:.2f}",
        )
    console.print(table)
    if found.source == "dhan":
        console.print(
            "Δ: Dhan's delta. Dhan's last traded prices (docs/options.md).", highlight=False
        )
    else:
        console.print("Δ: spot delta. Model prices, not quotes (docs/options.md).", highlight=False)


def _as_json(found: OptionChain, strikes: int) -> dict[str, Any]:
    from tradeloop.domain.market.calendar import to_ist

    return {
        "symbol": found.symbol,
        "expiry": found.expiry.isoformat(),
        "as_of": to_ist(found.as_of).isoformat(),
        "source": found.source,
        "spot": found.spot,
        "forward": found.forward,
        "years_to_expiry": found.time,
        "rows": found.around(strikes).to_dicts(),
    }
