"""`PriceArrays.from_candles`: sessions, minutes, timestamps, and refusals of bad frames."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.indicators import PriceArrays
from tradeloop.domain.market.candles import empty_candles
from tradeloop.errors import DataValidationError

CandleBuilder = Callable[..., pl.DataFrame]

TIMES = ["2025-01-06 09:15", "2025-01-06 09:16", "2025-01-06 15:29", "2025-01-07 09:15"]


def _frame(make_candles: CandleBuilder, interval: str = "1m") -> pl.DataFrame:
    return make_candles(
        TIMES, [1, 2, 3, 4], [2, 3, 4, 5], [0.5, 1, 2, 3], [1.5, 2.5, 3.5, 4.5], [0, 7, 8, 9],
        interval=interval,
    )  # fmt: skip


def test_arrays_follow_the_frame(make_candles: CandleBuilder) -> None:
    arrays = PriceArrays.from_candles(_frame(make_candles))
    assert len(arrays) == 4
    np.testing.assert_array_equal(arrays.open, [1, 2, 3, 4])
    np.testing.assert_array_equal(arrays.volume, [0, 7, 8, 9])
    assert arrays.open.dtype == arrays.volume.dtype == np.float64
    np.testing.assert_array_equal(arrays.session, [0, 0, 0, 1])
    np.testing.assert_array_equal(arrays.minute_of_session, [0, 1, 374, 0])
    assert arrays.session.dtype == arrays.minute_of_session.dtype == arrays.ts.dtype == np.int64
    # 09:15 IST is 03:45 UTC.
    first = datetime(2025, 1, 6, 3, 45, tzinfo=UTC)
    assert arrays.ts[0] == int(first.timestamp()) * 1_000_000_000
    assert arrays.bar_minutes == 1


def test_session_changes_with_the_ist_date_not_the_utc_date(make_candles: CandleBuilder) -> None:
    # 05:00 IST on the 7th is still the 6th in UTC (23:30): a new session all the same.
    times = ["2025-01-06 15:29", "2025-01-07 05:00", "2025-01-07 09:15"]
    arrays = PriceArrays.from_candles(make_candles(times, [1] * 3, [1] * 3, [1] * 3, [1] * 3))
    np.testing.assert_array_equal(arrays.session, [0, 1, 1])
    np.testing.assert_array_equal(arrays.minute_of_session, [374, -255, 0])


@pytest.mark.parametrize(("interval", "minutes"), [("5m", 5), ("1h", 60), ("1d", 375)])
def test_bar_minutes_come_from_the_interval(
    make_candles: CandleBuilder, interval: str, minutes: int
) -> None:
    assert PriceArrays.from_candles(_frame(make_candles, interval)).bar_minutes == minutes


def test_head_is_the_first_bars_of_every_array(make_candles: CandleBuilder) -> None:
    arrays = PriceArrays.from_candles(_frame(make_candles, "5m"))
    head = arrays.head(2)
    assert len(head) == 2 and head.bar_minutes == 5
    for name in ("open", "high", "low", "close", "volume", "session", "minute_of_session", "ts"):
        np.testing.assert_array_equal(getattr(head, name), getattr(arrays, name)[:2])


def test_empty_frame_gives_empty_arrays() -> None:
    arrays = PriceArrays.from_candles(empty_candles())
    assert len(arrays) == 0 and len(arrays.session) == 0


def test_missing_columns_are_named(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles).drop("volume", "low")
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['low', 'volume'\]"):
        PriceArrays.from_candles(frame)


def test_unsorted_rows_are_refused_naming_the_row(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles)
    shuffled = pl.concat([frame[1:2], frame[0:1], frame[2:]])
    with pytest.raises(DataValidationError, match=r"candle row 1: ts .* is not after .*sort by ts"):
        PriceArrays.from_candles(shuffled)


def test_duplicate_timestamps_are_refused(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles)
    with pytest.raises(DataValidationError, match=r"candle row 3: .*drop duplicates"):
        PriceArrays.from_candles(pl.concat([frame[:3], frame[2:3]]))


def test_missing_price_is_refused_naming_row_and_column(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles).with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(None).otherwise(pl.col("close")).alias("close")
    )
    with pytest.raises(
        DataValidationError, match=r"candle row 2 \(ts .*\): close is nan \(missing or not finite\)"
    ):
        PriceArrays.from_candles(frame)


def test_naive_timestamps_are_refused(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles).with_columns(pl.col("ts").dt.replace_time_zone(None))
    with pytest.raises(DataValidationError, match="must be a tz-aware Datetime"):
        PriceArrays.from_candles(frame)


def test_mixed_intervals_are_refused(make_candles: CandleBuilder) -> None:
    frame = _frame(make_candles).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("5m"))
        .otherwise(pl.col("interval"))
        .alias("interval")
    )
    with pytest.raises(DataValidationError, match="exactly one of"):
        PriceArrays.from_candles(frame)
