"""Fetching index history from Dhan into the candle store, resumably.

`fetch_history` (what `tradeloop data fetch` runs):

1. the days to fetch: the trading days from `start` to `end` (never after today, IST) that the
   store's `gaps` report missing bars on; all of them when the series is not stored yet;
2. the requests: consecutive missing days grouped into windows of at most the vendor's span
   (`domain.market.fetch_plan.plan_windows`; 90 days for Dhan's intraday candles);
3. each window is fetched (rate-limited, transient failures retried, see
   `adapters.dhan.history`) and written through the store's plausibility write path
   (`write_plausible` with the `[plausibility]` rules, relaxed per run by `--max-move` and
   `--allow-future`), so it is checked like an import and stored before the next window is
   asked for. A window the rules refuse writes nothing and stops the fetch with a
   `DataValidationError` naming the window, its rows and the option that lets them through.

A failure or a refusal part-way leaves every window written before it in the store: the next
run's gaps no longer report them, so it asks only for what is missing. A window Dhan has no data
for (a holiday the calendar does not know, a day before the index existed) is counted, not an
error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from tradeloop.app.trading import dhan_credentials, dhan_rate_limiter
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.fetch_plan import (
    FetchWindow,
    last_fetchable_day,
    missing_days,
    plan_windows,
)
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import DataValidationError, NotFoundError, UserError
from tradeloop.settings import Settings

if TYPE_CHECKING:
    import polars as pl

    from tradeloop.adapters.dhan.history import DhanHistory, RetryPolicy, WindowCandles
    from tradeloop.adapters.ratelimit import RateLimiter
    from tradeloop.domain.market.plausibility_rules import PlausibilityRules
    from tradeloop.storage.candles import CandleStore, WriteReport


class CandleSource(Protocol):
    """Where history comes from: `DhanHistory`, or a fake in tests."""

    def candles(
        self, symbol: str, security_id: str, interval: str, window: FetchWindow
    ) -> WindowCandles: ...


class FetchSummary(BaseModel):
    """What one fetch did (the `--json` output of `tradeloop data fetch`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    interval: str
    start: date
    end: date
    """The last day asked for: the requested end, or today (IST) when that is later."""
    missing_days: int
    """Trading days with missing bars before the fetch."""
    requests: int
    """Windows asked for (one request each, plus any retries counted in `sends`)."""
    sends: int
    """HTTP requests sent, retries included."""
    empty_windows: int
    """Windows Dhan had no data for."""
    rows_inserted: int
    rows_replaced: int


def dhan_history(
    settings: Settings,
    *,
    rate_limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DhanHistory:
    """The Dhan history client of the configured account, counting in the account's limiter.

    Paper trading needs no credentials; Dhan's data API does, whatever the trading mode:
    missing ones are a `ConfigError` naming the variables.
    """
    from tradeloop.adapters.dhan.history import HISTORY_TIMEOUT_SECONDS, DhanHistory

    client_id, token = dhan_credentials(
        settings,
        "fetching history from Dhan",
        "paper trading needs no Dhan account, but Dhan's data API does",
    )
    return DhanHistory(
        client_id,
        token,
        base_url=settings.dhan_base_url,
        timeout=HISTORY_TIMEOUT_SECONDS,
        rate_limiter=rate_limiter or dhan_rate_limiter(settings, client_id),
        retry=retry,
        sleep=sleep,
    )


def _write_window(
    store: CandleStore,
    frame: pl.DataFrame,
    rules: PlausibilityRules,
    now: datetime,
    window: FetchWindow,
    number: int,
    count: int,
) -> WriteReport:
    """Write one fetched window through the plausibility rules; a refusal names the window."""
    try:
        return store.write_plausible(frame, rules, now)
    except DataValidationError as exc:
        symbol, interval = frame["symbol"][0], frame["interval"][0]
        verb = "is" if number == 1 else "are"
        kept = f"{_plural(number, 'earlier window')} of this fetch {verb} stored"
        raise DataValidationError(
            f"{symbol} {interval} from Dhan, window {window.first_day} to {window.last_day} "
            f"(request {number + 1} of {count}): nothing of it was stored and the fetch "
            f"stopped. {exc}\n(rows count the window's bars from 0; {kept}, so running the same "
            "fetch again, with the option above if the prices are real, resumes from this window)"
        ) from exc


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def check_fetch_request(symbol: str, interval: str, start: date, end: date) -> str:
    """The index symbol (upper-cased); a `UserError` for an unknown symbol or interval, or a
    range that ends before it starts. Checked before any credentials or connection."""
    from tradeloop.adapters.dhan.history import dhan_interval

    if end < start:
        raise UserError(f"--from {start} is after --to {end}: swap them")
    dhan_interval(interval)
    return index_instrument(symbol).symbol


def plan_fetch(
    store: CandleStore,
    calendar: NSECalendar,
    symbol: str,
    interval: str,
    start: date,
    end: date,
) -> tuple[list[date], list[FetchWindow]]:
    """The trading days missing from `start` to `end` and the requests that cover them."""
    from tradeloop.adapters.dhan.history import max_window_days

    try:
        gaps = store.gaps(symbol, interval, start, end)
    except NotFoundError:  # the series is not stored yet: every session is missing
        days = calendar.trading_days(start, end)
    else:
        days = missing_days(calendar, start, end, ((gap.start, gap.end) for gap in gaps))
    return days, plan_windows(calendar, days, max_window_days(interval))


def fetch_history(
    source: CandleSource,
    store: CandleStore,
    calendar: NSECalendar,
    *,
    symbol: str,
    interval: str,
    start: date,
    end: date,
    now: datetime,
    rules: PlausibilityRules,
    on_plan: Callable[[list[FetchWindow]], None] | None = None,
    on_window: Callable[[FetchWindow, int], None] | None = None,
) -> FetchSummary:
    """Fetch what the store is missing (see the module docstring), each window checked against
    `rules` at `now`; `on_plan` hears the windows before the first request, `on_window` each
    window and the rows it wrote."""
    symbol = check_fetch_request(symbol, interval, start, end)
    security_id = index_instrument(symbol).dhan_security_id
    end = last_fetchable_day(end, now)
    days, windows = (
        ([], []) if end < start else plan_fetch(store, calendar, symbol, interval, start, end)
    )
    if on_plan is not None:
        on_plan(windows)
    sends = empty = inserted = replaced = 0
    for number, window in enumerate(windows):
        answer = source.candles(symbol, security_id, interval, window)
        sends += answer.attempts
        written = 0
        if answer.frame.is_empty():
            empty += 1
        else:
            report = _write_window(store, answer.frame, rules, now, window, number, len(windows))
            inserted += report.rows_inserted
            replaced += report.rows_replaced
            written = report.rows_written
        if on_window is not None:
            on_window(window, written)
    return FetchSummary(
        symbol=symbol,
        interval=interval,
        start=start,
        end=end,
        missing_days=len(days),
        requests=len(windows),
        sends=sends,
        empty_windows=empty,
        rows_inserted=inserted,
        rows_replaced=replaced,
    )
