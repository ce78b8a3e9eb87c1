"""The candle frame every layer shares: one polars schema, one list of intervals.

A candle frame has exactly these columns, sorted by `ts`, for one symbol and one interval:
`symbol`, `interval`, `ts` (bar open time, tz-aware UTC), `open`, `high`, `low`, `close`,
`volume` (>= 0; 0 for an index) and `oi` (open interest, null where it does not apply).
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

Interval = Literal["1m", "5m", "15m", "30m", "1h", "1d"]
INTERVALS: Final[tuple[Interval, ...]] = ("1m", "5m", "15m", "30m", "1h", "1d")
INTERVAL_MINUTES: Final[dict[str, int]] = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "1d": 375,
}

CANDLE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "symbol": pl.String(),
    "interval": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Int64(),
    "oi": pl.Int64(),
}
CANDLE_COLUMNS: Final[tuple[str, ...]] = tuple(CANDLE_SCHEMA)
PRICE_COLUMNS: Final[tuple[str, ...]] = ("open", "high", "low", "close")


def empty_candles() -> pl.DataFrame:
    """A candle frame with no rows and the shared schema."""
    return pl.DataFrame(schema=CANDLE_SCHEMA)
