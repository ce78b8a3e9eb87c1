"""`tradeloop instruments`: load Dhan's scrip master, find contracts in it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column

from tradeloop.cli._common import compact_table, console, parse_day, settings

if TYPE_CHECKING:
    from tradeloop.domain.market.instrument_master import Instrument, InstrumentMaster

instruments_app = typer.Typer(
    help="The instrument master: Dhan's security ids, lot and tick sizes, expiries and strikes.",
    no_args_is_help=True,
)
KINDS = ("INDEX", "FUT", "CE", "PE")
SHOWN = 60


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(instruments_app, name="instruments")


@instruments_app.command("load")
def load(
    file: Path = typer.Argument(
        ..., help="Dhan's scrip master CSV (api-scrip-master-detailed.csv or the compact one)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="The day the file was published, YYYY-MM-DD (default: its modification day, IST).",
    ),
) -> None:
    """Keep the NIFTY and BANKNIFTY rows of Dhan's scrip master as the instrument table."""
    from tradeloop.app import stores

    published = parse_day(as_of, "--as-of")
    store = stores.instrument_store(settings())
    if published is None:
        published = _modified_day(file)
    master = store.import_csv(file, as_of=published)
    console.print(f"Loaded {len(master)} instruments from {file} (as of {master.as_of})")
    console.print(f"into {store.path}", highlight=False)
    table = compact_table(
        None,
        Column("underlying", no_wrap=True),
        Column("kind", no_wrap=True),
        Column("contracts", justify="right"),
        Column("expiries", overflow="fold"),
    )
    for (underlying, kind), count in master.counts().items():
        expiries = master.expiries(underlying, kind)
        span = f"{expiries[0]} to {expiries[-1]} ({len(expiries)})" if expiries else "-"
        table.add_row(underlying, kind.value, str(count), span)
    console.print(table)


def _modified_day(file: Path) -> date:
    from tradeloop.domain.market.calendar import IST

    try:
        stamp = file.stat().st_mtime
    except OSError:
        return datetime.now(UTC).astimezone(IST).date()  # the read below names the problem
    return datetime.fromtimestamp(stamp, tz=IST).date()


@instruments_app.command("find")
def find(
    underlying: str = typer.Option(..., help="NIFTY or BANKNIFTY."),
    kind: str | None = typer.Option(None, help="INDEX, FUT, CE or PE (default: all)."),
    expiry: str | None = typer.Option(None, help="Expiry day, YYYY-MM-DD."),
    strike: float | None = typer.Option(None, help="Option strike, e.g. 24000."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    limit: int = typer.Option(SHOWN, min=1, help="Rows to show at most."),
) -> None:
    """List the contracts matching the options, from the stored table or the bundled sample."""
    from tradeloop.app import stores

    wanted_kind = _kind(kind)
    day = parse_day(expiry, "--expiry")
    master = stores.instrument_master(settings())
    found = master.find(underlying, wanted_kind, day, strike)
    if not found:
        _explain_miss(master, underlying, wanted_kind, day, strike)
    if as_json:
        typer.echo(json.dumps(_as_json(master, found[:limit], len(found)), indent=2))
        return
    _print_table(master, found, limit)


def _kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    if kind.strip().upper() not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(KINDS)}", param_hint="--kind")
    return kind.strip().upper()


def _explain_miss(
    master: InstrumentMaster,
    underlying: str,
    kind: str | None,
    day: date | None,
    strike: float | None,
) -> None:
    """Raise the NotFoundError that says what is listed nearest to what was asked."""
    from tradeloop.errors import NotFoundError

    for candidate in [kind] if kind else ["CE", "PE", "FUT"]:
        if candidate == "FUT" and strike is not None:
            continue
        master.resolve(underlying, candidate, day, strike)  # raises, naming the nearest
    raise NotFoundError(f"no {underlying.upper()} contract matches in the {master.source}")


def _print_table(master: InstrumentMaster, found: list[Instrument], limit: int) -> None:
    note = (
        ": load Dhan's master with `tradeloop instruments load FILE` (the sample's security "
        "ids are illustrative)"
        if master.source == "bundled sample"
        else ""
    )
    console.print(f"From the {master.source}, as of {master.as_of}{note}", highlight=False)
    # The security id and the symbol are what a user copies: never cut, the symbol folds.
    table = compact_table(
        None,
        Column("id", justify="right", no_wrap=True),
        Column("symbol", overflow="fold"),
        Column("kind", no_wrap=True),
        Column("expiry", no_wrap=True),
        Column("strike", justify="right", no_wrap=True),
        Column("lot", justify="right", no_wrap=True),
        Column("tick", justify="right", no_wrap=True),
    )
    for instrument in found[:limit]:
        table.add_row(
            instrument.security_id,
            instrument.trading_symbol,
            instrument.kind.value,
            str(instrument.expiry or "-"),
            "-" if instrument.strike is None else f"{instrument.strike:g}",
            str(instrument.lot_size),
            f"{instrument.tick_size:g}",
        )
    console.print(table)
    if len(found) > limit:
        console.print(
            f"{len(found) - limit} more: narrow with --kind, --expiry or --strike, or raise --limit"
        )


def _as_json(master: InstrumentMaster, shown: list[Instrument], total: int) -> dict[str, Any]:
    return {
        "source": master.source,
        "as_of": master.as_of.isoformat(),
        "matched": total,
        "instruments": [
            {
                "security_id": i.security_id,
                "exchange_segment": i.exchange_segment,
                "trading_symbol": i.trading_symbol,
                "underlying": i.underlying,
                "kind": i.kind.value,
                "expiry": None if i.expiry is None else i.expiry.isoformat(),
                "strike": i.strike,
                "lot_size": i.lot_size,
                "tick_size": i.tick_size,
            }
            for i in shown
        ],
    }
