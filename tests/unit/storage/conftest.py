"""Candle frames built from the real NSE calendar, and both candle stores side by side."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.candles import INTERVAL_MINUTES
from tradeloop.storage.candles import (
    InMemoryCandleStore,
    ParquetCandleStore,
    PartitionedCandleStore,
)

CandleFactory = Callable[..., pl.DataFrame]


@pytest.fixture(scope="session")
def calendar() -> NSECalendar:
    return NSECalendar.default()


def build_candles(
    calendar: NSECalendar,
    start: date,
    end: date,
    *,
    symbol: str = "NIFTY",
    interval: str = "1m",
    seed: int = 0,
) -> pl.DataFrame:
    """A valid candle frame over every bar of the sessions from `start` to `end`."""
    if interval == "1d":
        opens = [session.open.replace(tzinfo=None) for session in calendar.sessions(start, end)]
        stamps = np.array(opens, dtype="datetime64[us]")
    else:
        stamps = calendar.minute_bars(start, end, INTERVAL_MINUTES[interval])
    rng = np.random.default_rng(seed)
    close = np.round(24_000.0 * np.exp(np.cumsum(rng.normal(0, 0.0005, stamps.size))), 2)
    open_ = np.concatenate(([24_000.0], close[:-1]))
    return pl.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "ts": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + 1.5,
            "low": np.minimum(open_, close) - 1.5,
            "close": close,
            "volume": rng.integers(0, 10_000, stamps.size),
            "oi": pl.Series([None] * stamps.size, dtype=pl.Int64),
        }
    )


@pytest.fixture(scope="session")
def candles(calendar: NSECalendar) -> CandleFactory:
    """`candles(start, end, symbol=..., interval=..., seed=...)`."""

    def make(start: date, end: date, **options: object) -> pl.DataFrame:
        return build_candles(calendar, start, end, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture(params=["memory", "parquet"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, calendar: NSECalendar
) -> Iterator[PartitionedCandleStore]:
    """Each behaviour test runs against both stores: the fake must not drift from the real one."""
    if request.param == "memory":
        yield InMemoryCandleStore(calendar)
    else:
        parquet = ParquetCandleStore(tmp_path / "candles", calendar)
        yield parquet
        parquet.close()
