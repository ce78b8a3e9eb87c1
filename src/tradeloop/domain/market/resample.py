"""Resample 1-minute candles to 5m, 15m, 30m, 1h or 1d bars anchored at each session's open.

NSE sessions open at 09:15 IST, so buckets count from 09:15, not from the top of the hour:
5m bars open at 09:15, 09:20, …; 1h bars at 09:15, 10:15, …, 15:15, the last one covering only
15:15–15:29 (a partial bar of 15 minutes, as every NSE charting platform shows it); 1d is one bar
per session stamped 09:15 IST. A bar is open = first open, high = max, low = min, close = last
close, volume = sum and oi = last non-null oi of the minutes it holds; a bucket with no source
minute produces no bar (nothing is forward-filled). A bucket never crosses a night: minutes
outside 09:15–15:29 IST are refused, and the windows restart at every session's open.
"""

from __future__ import annotations

import difflib

import polars as pl

from tradeloop.domain.market.calendar import IST_OFFSET, SESSION_MINUTES, to_ist
from tradeloop.domain.market.candles import CANDLE_COLUMNS, INTERVAL_MINUTES, INTERVALS
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.errors import DataValidationError

_SOURCE_INTERVAL = "1m"
# Other platforms' names for our intervals, offered as a hint (never accepted silently).
_SPELLINGS: dict[str, str] = {
    "1min": "1m",
    "5min": "5m",
    "15min": "15m",
    "30min": "30m",
    "60m": "1h",
    "60min": "1h",
    "1hr": "1h",
    "h": "1h",
    "d": "1d",
    "1day": "1d",
    "day": "1d",
}
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_IST_OFFSET_US = int(IST_OFFSET.total_seconds()) * 1_000_000
# IST has no DST, so 09:15 IST is 03:45 UTC every day and windows of a fixed UTC offset line up
# with every session's open: a width that divides a day, shifted by 03:45 modulo the width.
_OPEN_MINUTE_UTC = OPEN_MINUTE - int(IST_OFFSET.total_seconds()) // 60
_WINDOWS: dict[str, str] = {
    name: "1d" if name == "1d" else f"{minutes}m" for name, minutes in INTERVAL_MINUTES.items()
}
_OFFSETS: dict[str, str] = {
    name: f"{_OPEN_MINUTE_UTC}m" if name == "1d" else f"{_OPEN_MINUTE_UTC % minutes}m"
    for name, minutes in INTERVAL_MINUTES.items()
}


def resample(candles: pl.DataFrame, interval: str) -> pl.DataFrame:
    """Aggregate a 1m candle frame (`CANDLE_SCHEMA`) into `interval` bars (`CANDLE_SCHEMA`).

    The result is sorted by symbol and bar open time. Raises `DataValidationError` for an unknown
    target interval, a source that is not 1m, or a minute outside 09:15–15:29 IST.
    """
    _check_target(interval)
    _check_source(candles, interval)
    if interval == _SOURCE_INTERVAL:
        return _sorted(candles)
    if candles.is_empty():
        return candles.with_columns(pl.lit(interval, dtype=pl.String).alias("interval"))

    _check_session_hours(candles)
    bars = (
        _sorted(candles)
        .group_by_dynamic(
            "ts",
            every=_WINDOWS[interval],
            offset=_OFFSETS[interval],
            closed="left",
            label="left",
            group_by="symbol",
        )
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.col("oi").drop_nulls().last(),
        )
    )
    # group_by_dynamic does not keep the groups' order; the bars are few, so sorting is cheap.
    return (
        bars.with_columns(pl.lit(interval, dtype=pl.String).alias("interval"))
        .select(CANDLE_COLUMNS)
        .sort("symbol", "ts")
    )


def _sorted(candles: pl.DataFrame) -> pl.DataFrame:
    """By symbol then time; a frame of one symbol already in order (the usual case) is kept."""
    if candles.get_column("symbol").n_unique() <= 1 and candles.get_column("ts").is_sorted():
        return candles
    return candles.sort("symbol", "ts", maintain_order=True)


def _check_target(interval: str) -> None:
    if interval not in INTERVALS:
        key = interval.strip().lower()
        close = (
            [_SPELLINGS[key]]
            if key in _SPELLINGS
            else difflib.get_close_matches(key, INTERVALS, n=1)
        )
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataValidationError(
            f"interval {interval!r} is not supported{hint}: use one of {', '.join(INTERVALS)}"
        )


def _check_source(candles: pl.DataFrame, interval: str) -> None:
    missing = [column for column in CANDLE_COLUMNS if column not in candles.columns]
    if missing:
        raise DataValidationError(
            f"candles lack the column(s) {', '.join(missing)}: resample needs a candle frame with "
            f"the columns {', '.join(CANDLE_COLUMNS)}"
        )
    sources = candles.get_column("interval").unique().sort().to_list()
    foreign = [source for source in sources if source != _SOURCE_INTERVAL]
    if not foreign:
        return
    source = foreign[0]
    if source in INTERVAL_MINUTES and INTERVAL_MINUTES[source] > INTERVAL_MINUTES[interval]:
        raise DataValidationError(
            f"cannot resample {source} candles to the finer interval {interval!r}: "
            f"load the 1m candles and resample those"
        )
    raise DataValidationError(
        f"resample needs 1m candles, got interval {source!r}: load the 1m candles of the same "
        f"period and resample those to {interval!r}"
    )


def _check_session_hours(candles: pl.DataFrame) -> None:
    """Refuse minutes outside 09:15–15:29 IST: they would land in a neighbouring window."""
    local_us = pl.col("ts").dt.epoch("us") + _IST_OFFSET_US
    session_minute = local_us.mod(_US_PER_DAY) // _US_PER_MINUTE - OPEN_MINUTE
    is_outside = (session_minute < 0) | (session_minute >= SESSION_MINUTES)
    if not candles.select(is_outside.any()).item():
        return
    outside = candles.with_row_index("_row").filter(is_outside)
    first = outside.row(0, named=True)
    raise DataValidationError(
        f"{outside.height} candle(s) fall outside the 09:15–15:29 IST session, the first at row "
        f"{first['_row']} ({first['symbol']} {to_ist(first['ts']).isoformat()}): drop them "
        "first, e.g. with NSECalendar.in_session_mask"
    )
