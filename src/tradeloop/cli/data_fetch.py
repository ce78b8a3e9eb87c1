"""`tradeloop data fetch`: index candles from Dhan's chart APIs into the candle store.

Registered on the `data` group by `cli.data`. The fetch itself is `app.history.fetch_history`:
only the sessions the store is missing are asked for, so running it again resumes. Each window
passes the plausibility rules an import passes (`--max-move`, `--allow-future`, shared with
`data import` through `cli._plausibility`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from tradeloop.cli._common import console, parse_day, settings
from tradeloop.cli._plausibility import ALLOW_FUTURE_OPTION, MAX_MOVE_OPTION, plausibility_rules
from tradeloop.errors import ConfigError

if TYPE_CHECKING:
    from tradeloop.domain.market.fetch_plan import FetchWindow

FETCH_INTERVALS_HELP = "1m, 5m, 15m, 1h, 1d"


def register(data_app: typer.Typer) -> None:
    data_app.command("fetch")(fetch)


def fetch(
    symbol: str = typer.Option(..., help="Index to fetch: NIFTY or BANKNIFTY."),
    interval: str = typer.Option(
        "1m", help=f"Bar interval: {FETCH_INTERVALS_HELP} (Dhan has no 30m candles)."
    ),
    from_day: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    to_day: str = typer.Option(
        ..., "--to", help="Last day (YYYY-MM-DD), inclusive; capped at today."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    max_move: float | None = MAX_MOVE_OPTION,
    allow_future: bool = ALLOW_FUTURE_OPTION,
) -> None:
    """Fetch candles from Dhan for the sessions the store is missing (resumable).

    Each window is checked like an import: one the plausibility rules refuse is not stored and
    stops the fetch, naming the option that lets it through. Needs TRADELOOP_DHAN_CLIENT_ID and
    TRADELOOP_DHAN_ACCESS_TOKEN, whatever the trading mode.
    """
    from tradeloop.app import history, stores
    from tradeloop.cli.data import _progress
    from tradeloop.clock import SystemClock

    start, end = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    assert start is not None and end is not None  # both options are required
    try:
        symbol = history.check_fetch_request(symbol, interval, start, end)
    except ConfigError as exc:  # the interval: the one check that raises ConfigError
        raise typer.BadParameter(str(exc), param_hint="--interval") from None
    current = settings()
    rules = plausibility_rules(current, max_move, allow_future)
    source = history.dhan_history(current)
    store, calendar = stores.candle_store(current), stores.calendar(current)
    with _progress() as progress:
        task = progress.add_task(f"planning {symbol} {interval}", total=None)

        def planned(windows: list[FetchWindow]) -> None:
            progress.update(task, total=len(windows), description=f"fetching {symbol} {interval}")

        def fetched(window: FetchWindow, rows: int) -> None:
            progress.advance(task)

        summary = history.fetch_history(
            source,
            store,
            calendar,
            symbol=symbol,
            interval=interval,
            start=start,
            end=end,
            now=SystemClock().now(),
            rules=rules,
            on_plan=planned,
            on_window=fetched,
        )
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json")))
        return
    if summary.requests == 0:
        console.print(
            f"nothing to fetch: {symbol} {interval} is complete from {summary.start} to "
            f"{summary.end}",
            highlight=False,
        )
        return
    empty = f", {summary.empty_windows} without data" if summary.empty_windows else ""
    console.print(
        f"fetched {symbol} {interval} from {summary.start} to {summary.end}: "
        f"{summary.missing_days:,} missing sessions in {_count(summary.requests, 'request')}"
        f"{empty}; "
        f"wrote {summary.rows_inserted + summary.rows_replaced:,} rows "
        f"({summary.rows_inserted:,} new, {summary.rows_replaced:,} replaced)",
        highlight=False,
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
