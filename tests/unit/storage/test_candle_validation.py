"""validate_candles: each rule refuses with the row, the IST time, the values and a fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.validation import validate_candles
from tradeloop.errors import DataValidationError

CandleFactory = Callable[..., pl.DataFrame]

DAY = date(2025, 1, 2)  # a Thursday session


def refusal(frame: pl.DataFrame, calendar: NSECalendar) -> str:
    with pytest.raises(DataValidationError) as caught:
        validate_candles(frame, calendar)
    return str(caught.value)


def set_value(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    """`frame` with one cell replaced (the column keeps its dtype unless `value` needs another)."""
    values = frame[column].to_list()
    values[row] = value
    return frame.with_columns(pl.Series(column, values))


def test_valid_frame_is_returned_in_the_shared_schema(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY)
    result = validate_candles(frame, calendar)
    assert dict(result.schema) == CANDLE_SCHEMA
    assert result.equals(frame)


def test_compatible_dtypes_are_cast_and_names_normalised(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    # Whole-number prices so an integer open column is a faithful copy.
    frame = candles(DAY, DAY).with_columns(pl.col(c).round() for c in ("open", "close"))
    frame = frame.with_columns(
        pl.max_horizontal("open", "close").add(1.0).alias("high"),
        pl.min_horizontal("open", "close").sub(1.0).alias("low"),
    )
    loose = frame.drop("oi").with_columns(
        pl.lit(" nifty ").alias("symbol"),
        pl.lit("1m").cast(pl.Categorical).alias("interval"),
        pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.cast_time_unit("ns"),
        pl.col("open").cast(pl.Int32),
        pl.col("volume").cast(pl.Float64),
    )
    result = validate_candles(loose, calendar)
    assert dict(result.schema) == CANDLE_SCHEMA
    assert result["symbol"].unique().to_list() == ["NIFTY"]
    assert result.drop("symbol").equals(frame.drop("symbol"))


def test_empty_frame_is_valid(candles: CandleFactory, calendar: NSECalendar) -> None:
    assert validate_candles(candles(DAY, DAY).head(0), calendar).is_empty()


def test_missing_columns_are_named(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(candles(DAY, DAY).drop("close", "volume"), calendar)
    assert "missing columns close, volume" in message
    assert "the frame has symbol, interval, ts, open, high, low, oi" in message


def test_unexpected_columns_are_named(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(candles(DAY, DAY).with_columns(pl.lit(1).alias("turnover")), calendar)
    assert "unexpected columns turnover" in message
    assert "df.drop('turnover')" in message


def test_naive_timestamps_are_refused_with_the_fix(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY).with_columns(pl.col("ts").dt.replace_time_zone(None))
    message = refusal(frame, calendar)
    assert "timestamps without a timezone" in message
    assert "replace_time_zone('Asia/Kolkata')" in message


def test_text_prices_are_refused_by_column(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(candles(DAY, DAY).with_columns(pl.col("high").cast(pl.String)), calendar)
    assert "column high has type String" in message


def test_two_symbols_in_one_frame(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY)
    mixed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(pl.lit("BANKNIFTY"))
        .otherwise("symbol")
        .alias("symbol")
    )
    message = refusal(mixed, calendar)
    assert "more than one symbol in the frame: NIFTY (370 rows), BANKNIFTY (5 rows)" in message
    assert "partition_by('symbol')" in message


def test_unknown_interval_suggests_the_closest(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    message = refusal(candles(DAY, DAY).with_columns(pl.lit("1min").alias("interval")), calendar)
    assert "unknown interval '1min' (did you mean 1m?)" in message


def test_symbol_that_is_not_a_safe_name(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(candles(DAY, DAY).with_columns(pl.lit("NIFTY/50").alias("symbol")), calendar)
    assert "symbol 'NIFTY/50' is not a valid name" in message


def test_missing_and_nan_prices(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = set_value(candles(DAY, DAY), 3, "close", None)
    frame = set_value(frame, 7, "open", float("nan"))
    message = refusal(frame, calendar)
    assert "missing or non-finite prices or volume: 2 rows" in message
    assert "row 3 (2025-01-02 09:18 IST): open=" in message
    assert "close=None" in message
    assert "row 7 (2025-01-02 09:22 IST): open=nan" in message
    assert "drop_nulls()" in message


def test_prices_not_above_zero(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY)
    frame = set_value(set_value(frame, 10, "low", 0.0), 10, "open", 0.0)
    frame = set_value(frame, 10, "close", 0.0)
    message = refusal(frame, calendar)
    assert "prices not above zero: 1 row" in message
    assert "row 10 (2025-01-02 09:25 IST)" in message


def test_high_below_open_or_close(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY)
    bad_high = min(frame["open"][42], frame["close"][42]) - 1.0
    message = refusal(set_value(frame, 42, "high", bad_high), calendar)
    assert "high or low inconsistent with open/close: 1 row" in message
    assert f"row 42 (2025-01-02 09:57 IST): open={frame['open'][42]} high={bad_high}" in message
    assert "high must be >= max(open, close)" in message


def test_low_above_open_or_close(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY)
    message = refusal(set_value(frame, 0, "low", frame["high"][0] + 1), calendar)
    assert "high or low inconsistent with open/close: 1 row" in message
    assert "row 0 (2025-01-02 09:15 IST)" in message


def test_negative_volume(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(set_value(candles(DAY, DAY), 5, "volume", -3), calendar)
    assert "negative volume or open interest: 1 row" in message
    assert "row 5 (2025-01-02 09:20 IST): volume=-3 oi=None" in message


def test_fractional_volume(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY).with_columns(pl.col("volume").cast(pl.Float64))
    message = refusal(set_value(frame, 9, "volume", 10.5), calendar)
    assert "volume or open interest not a whole number: 1 row" in message
    assert "row 9 (2025-01-02 09:24 IST): volume=10.5" in message


def test_missing_timestamp(candles: CandleFactory, calendar: NSECalendar) -> None:
    message = refusal(set_value(candles(DAY, DAY), 4, "ts", None), calendar)
    assert "missing timestamps: 1 row" in message
    assert "row 4 (no timestamp)" in message


def test_duplicate_timestamps_name_both_rows(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY)
    message = refusal(set_value(frame, 21, "ts", frame["ts"][20]), calendar)
    assert "duplicate timestamps: 1 row" in message
    assert "row 21 (2025-01-02 09:35 IST), same time as row 20" in message
    assert "unique('ts'" in message


def test_out_of_order_timestamps_name_the_previous_row(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY)
    swapped = set_value(set_value(frame, 30, "ts", frame["ts"][31]), 31, "ts", frame["ts"][30])
    message = refusal(swapped, calendar)
    assert "timestamps out of order: 1 row" in message
    assert "row 31 (2025-01-02 09:45 IST), after row 30 at 2025-01-02 09:46 IST" in message
    assert "df.sort('ts')" in message


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        (datetime(2025, 1, 2, 15, 30, tzinfo=IST), "at the close"),
        (datetime(2025, 1, 2, 9, 14, tzinfo=IST), "before the open"),
        (datetime(2025, 1, 4, 10, 0, tzinfo=IST), "on a Saturday"),
        (datetime(2025, 2, 26, 10, 0, tzinfo=IST), "on a holiday"),
    ],
)
def test_timestamps_outside_sessions(
    candles: CandleFactory, calendar: NSECalendar, moment: datetime, why: str
) -> None:
    frame = candles(DAY, DAY)
    stray = frame.tail(1).with_columns(pl.lit(moment.astimezone(UTC)).alias("ts"))
    ordered = pl.concat([frame, stray]).sort("ts")
    message = refusal(ordered, calendar)
    assert "timestamps outside NSE sessions: 1 row" in message, why
    assert moment.strftime("%Y-%m-%d %H:%M IST") in message
    assert "5h30" in message


def test_five_minute_bar_off_its_grid(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY, interval="5m")
    shifted = set_value(frame, 2, "ts", frame["ts"][2] + timedelta(minutes=2))
    message = refusal(shifted, calendar)
    assert "timestamps off the 5m grid: 1 row" in message
    assert "row 2 (2025-01-02 09:27 IST)" in message


def test_minute_bar_with_seconds_is_off_the_grid(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY)
    message = refusal(set_value(frame, 1, "ts", frame["ts"][1] + timedelta(seconds=30)), calendar)
    assert "timestamps off the 1m grid: 1 row" in message
    assert "row 1 (2025-01-02 09:16:30 IST)" in message


def test_daily_bars_must_open_at_nine_fifteen(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(date(2025, 1, 1), date(2025, 1, 10), interval="1d")
    assert validate_candles(frame, calendar).height == 8
    late = set_value(frame, 3, "ts", frame["ts"][3] + timedelta(hours=6))
    message = refusal(late, calendar)
    assert "daily bars not at the 09:15 IST session open: 1 row" in message
    assert "row 3 (2025-01-06 15:15 IST)" in message


def test_every_failed_rule_is_reported_at_once(
    candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY)
    frame = set_value(frame, 3, "volume", -1)
    frame = set_value(frame, 8, "high", 1.0)
    frame = set_value(frame, 12, "ts", frame["ts"][11])
    message = refusal(frame, calendar)
    assert message.startswith("candles refused (3 rules failed):")
    for rule in ("negative volume", "high or low inconsistent", "duplicate timestamps"):
        assert rule in message


def test_only_the_first_rows_are_shown(candles: CandleFactory, calendar: NSECalendar) -> None:
    frame = candles(DAY, DAY).with_columns(
        pl.when(pl.int_range(pl.len()) < 20).then(-1).otherwise("volume").alias("volume")
    )
    message = refusal(frame, calendar)
    assert "negative volume or open interest: 20 rows" in message
    assert "row 4 (" in message and "row 5 (" not in message
    assert "... and 15 more" in message


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.0, 1.0),
    interval=st.sampled_from(["1m", "5m", "15m", "1h"]),
)
def test_any_subset_of_session_bars_is_valid_and_validation_is_idempotent(
    candles: CandleFactory, calendar: NSECalendar, seed: int, density: float, interval: str
) -> None:
    frame = candles(DAY, DAY, interval=interval)
    keep = np.random.default_rng(seed).random(frame.height) < density
    subset = frame.filter(pl.Series(keep))
    once = validate_candles(subset, calendar)
    assert once.equals(subset)
    assert validate_candles(once, calendar).equals(once)


@settings(max_examples=60, deadline=None)
@given(row=st.integers(0, 374), excess=st.floats(0.01, 1_000.0))
def test_a_high_below_the_body_is_always_refused_at_its_row(
    candles: CandleFactory, calendar: NSECalendar, row: int, excess: float
) -> None:
    frame = candles(DAY, DAY)
    body_top = max(frame["open"][row], frame["close"][row])
    message = refusal(set_value(frame, row, "high", body_top - excess), calendar)
    assert "high or low inconsistent with open/close: 1 row" in message
    assert f"row {row} (" in message
