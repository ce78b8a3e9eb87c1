"""What the candle store reports: write results, series summaries and gaps, and how they are
computed from a series' timestamps (shared by every store so they cannot disagree)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.candles import INTERVAL_MINUTES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WriteReport(_Frozen):
    """What one write did."""

    rows_inserted: int
    """Bars whose `ts` was not stored before."""
    rows_replaced: int
    """Bars that replaced a stored bar with the same `ts`."""
    partitions: tuple[str, ...]
    """Partitions rewritten, e.g. `symbol=NIFTY/interval=1m/year=2025`."""

    @property
    def rows_written(self) -> int:
        return self.rows_inserted + self.rows_replaced


class SeriesSummary(_Frozen):
    """One stored series: a symbol at one interval."""

    symbol: str
    interval: str
    rows: int
    first: datetime
    """Open time (UTC) of the first bar."""
    last: datetime
    """Open time (UTC) of the last bar."""
    sessions: int
    """Trading days with at least one bar."""


class Gap(_Frozen):
    """A run of consecutive missing bars (consecutive in the calendar's sequence of bars, so a
    run may span a night or a weekend)."""

    start: datetime
    """Open time (UTC) of the first missing bar."""
    end: datetime
    """Open time (UTC) of the last missing bar: inclusive."""
    count: int
    """Missing bars in the run."""


def summarise(symbol: str, interval: str, timestamps: pl.Series) -> SeriesSummary:
    """The summary of one series from its timestamps (tz-aware UTC)."""
    sessions = timestamps.dt.convert_time_zone("Asia/Kolkata").dt.date().n_unique()
    first, last = timestamps.min(), timestamps.max()
    assert isinstance(first, datetime) and isinstance(last, datetime), "series without bars"
    return SeriesSummary(
        symbol=symbol,
        interval=interval,
        rows=timestamps.len(),
        first=first.astimezone(UTC),
        last=last.astimezone(UTC),
        sessions=sessions,
    )


def expected_bars(calendar: NSECalendar, interval: str, start: date, end: date) -> np.ndarray:
    """Open times (`datetime64[us]`, UTC) of every bar the sessions from `start` to `end` hold."""
    if interval == "1d":
        opens = [session.open.replace(tzinfo=None) for session in calendar.sessions(start, end)]
        return np.array(opens, dtype="datetime64[us]")
    return calendar.minute_bars(start, end, INTERVAL_MINUTES[interval])


def find_gaps(
    present: pl.Series, calendar: NSECalendar, interval: str, start: date, end: date
) -> list[Gap]:
    """Runs of bars the calendar expects from `start` to `end` that `present` lacks."""
    expected = expected_bars(calendar, interval, start, end).astype(np.int64)
    have = present.dt.cast_time_unit("us").to_physical().to_numpy()
    missing = np.flatnonzero(~np.isin(expected, have))
    if missing.size == 0:
        return []
    run_starts = np.flatnonzero(np.diff(missing) != 1) + 1
    return [
        Gap(
            start=_EPOCH + timedelta(microseconds=int(expected[run[0]])),
            end=_EPOCH + timedelta(microseconds=int(expected[run[-1]])),
            count=int(run.size),
        )
        for run in np.split(missing, run_starts)
    ]
