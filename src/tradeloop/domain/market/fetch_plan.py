"""Which days of history to ask a data vendor for, and in which requests.

A fetch covers NSE sessions only. `missing_days` turns what the candle store reports missing
(its gaps, or everything when the series is not stored yet) into the trading days to fetch;
`plan_windows` groups those days into requests: a request covers consecutive trading days only
(it never asks again for a stored day lying between two missing ones), and spans at most
`max_days` calendar days when the vendor caps the span of one request.

Pure: no clock, no I/O. The vendor's cap is the caller's fact (the adapter knows it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tradeloop.domain.market.calendar import NSECalendar, to_ist


@dataclass(frozen=True, slots=True)
class FetchWindow:
    """One request: the trading days from `first_day` to `last_day` (IST days, inclusive)."""

    first_day: date
    last_day: date
    sessions: int
    """Trading days in the window."""

    @property
    def calendar_days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def missing_days(
    calendar: NSECalendar, start: date, end: date, gaps: Iterable[tuple[datetime, datetime]]
) -> list[date]:
    """The trading days from `start` to `end` holding a missing bar, sorted.

    `gaps` are runs of missing bars as (first, last) open times; a run is consecutive in the
    calendar's bars, so every trading day between its first and its last bar misses bars.
    """
    wanted: set[date] = set()
    for first, last in gaps:
        low = max(to_ist(first).date(), start)
        high = min(to_ist(last).date(), end)
        if low <= high:
            wanted.update(calendar.trading_days(low, high))
    return sorted(wanted)


def plan_windows(
    calendar: NSECalendar, days: Sequence[date], max_days: int | None
) -> list[FetchWindow]:
    """Requests covering `days` (trading days, sorted): runs of consecutive trading days, each
    cut so that no request spans more than `max_days` calendar days (None: no cap)."""
    if max_days is not None and max_days < 1:
        raise ValueError(f"a request must span at least one day, got max_days={max_days}")
    windows: list[FetchWindow] = []
    run: list[date] = []
    for day in days:
        if run and (
            calendar.next_trading_day(run[-1]) != day
            or (max_days is not None and (day - run[0]).days + 1 > max_days)
        ):
            windows.append(FetchWindow(run[0], run[-1], len(run)))
            run = []
        run.append(day)
    if run:
        windows.append(FetchWindow(run[0], run[-1], len(run)))
    return windows


def last_fetchable_day(end: date, now: datetime) -> date:
    """`end`, or today (IST) when `end` is in the future: no vendor has tomorrow's candles."""
    today = to_ist(now).date()
    return min(end, today)
