"""Bars from ticks: the round trip to stored candles (also through float32), closing on time,
session edges and the late-tick rule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.market.bars import (
    DEFAULT_GRACE,
    INDEX_PRICE_DECIMALS,
    BarBuilder,
    bars_from_ticks,
)
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.market.ticks import ticks_from_candles
from tradeloop.domain.market.validation import validate_candles

CALENDAR = NSECalendar.default()
DAY = date(2025, 3, 3)  # a Monday, a trading day
SATURDAY = date(2025, 3, 1)
OPEN = ist_datetime(DAY, time(9, 15))


def at(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return ist_datetime(day, time(hour, minute, second))


def builder(grace: timedelta = DEFAULT_GRACE) -> BarBuilder:
    return BarBuilder("NIFTY", calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS, grace=grace)


def stored_days(symbol: str, start: date, days: int) -> pl.DataFrame:
    return generate_market(symbol, days=days, start=start).candles


def as_float32(ticks: pl.DataFrame) -> pl.DataFrame:
    """Each price as Dhan's feed carries it: packed into a float32 and read back."""
    packed = ticks.get_column("price").to_numpy().astype(np.float32)
    return ticks.with_columns(pl.Series("price", packed.astype(np.float64)))


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
@pytest.mark.parametrize("start", [date(2025, 1, 1), date(2025, 6, 2)])
def test_replayed_days_build_back_exactly_the_stored_bars(symbol: str, start: date) -> None:
    stored = stored_days(symbol, start, days=3)
    rebuilt = bars_from_ticks(
        ticks_from_candles(stored), calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS
    )
    assert rebuilt.equals(stored)
    assert rebuilt.schema == stored.schema
    # Index values of 0.01 precision, most of them off the 0.05 option tick.
    off_tick = (np.round(stored.get_column("close").to_numpy() * 100) % 5 != 0).mean()
    assert off_tick > 0.5


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_float32_prices_round_to_hundredths_and_build_back_the_stored_bars(symbol: str) -> None:
    stored = stored_days(symbol, date(2025, 4, 1), days=3)
    ticks = as_float32(ticks_from_candles(stored))
    assert (ticks.get_column("price") != ticks_from_candles(stored).get_column("price")).any()
    rebuilt = bars_from_ticks(ticks, calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS)
    assert rebuilt.equals(stored)


def test_float32_prices_without_rounding_do_not_match_the_store() -> None:
    stored = stored_days("NIFTY", date(2025, 4, 1), days=1)
    ticks = as_float32(ticks_from_candles(stored))
    unrounded = bars_from_ticks(ticks, calendar=CALENDAR, price_decimals=9)
    assert not unrounded.equals(stored)


def test_every_hundredth_below_2_to_the_17_survives_float32_and_rounding() -> None:
    # The documented limit: every k/100 under 131,072 comes back exactly; checked on a dense
    # band at the top, where float32's spacing is widest, and a random sample below.
    rng = np.random.default_rng(15)
    top = np.arange(13_107_199 - 200_000, 13_107_200, dtype=np.int64)
    sample = rng.integers(1, 13_107_200, size=500_000)
    hundredths = np.concatenate([top, sample])
    stored = np.round(hundredths / 100, 2)
    back = np.round(stored.astype(np.float32).astype(np.float64), INDEX_PRICE_DECIMALS)
    assert np.array_equal(back, stored)


def test_streamed_day_closes_each_bar_on_time_when_the_clock_passes_minute_plus_grace() -> None:
    stored = stored_days("BANKNIFTY", DAY, days=1)
    ticks = ticks_from_candles(stored)
    bars = builder()
    closed = []
    for minute in range(stored.height):
        start = OPEN + timedelta(minutes=minute)
        for row in ticks.slice(4 * minute, 4).iter_rows(named=True):
            assert bars.on_tick(row["price"], row["ts"], row["volume"], row["oi"]) == []
        assert bars.on_time(start + timedelta(minutes=1, seconds=1)) == []
        closed.extend(bars.on_time(start + timedelta(minutes=1) + DEFAULT_GRACE))
        assert [bar.ts for bar in closed][-1] == start
    assert len(closed) == stored.height
    assert closed[0].ts.tzinfo is not None and closed[0].ts.utcoffset() == timedelta(0)


def test_a_tick_of_the_next_minute_closes_the_bar_once_the_grace_has_passed() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 10), 5)
    assert bars.on_tick(101.0, at(9, 16, 1), 1) == []
    [bar] = bars.on_tick(102.0, at(9, 16, 2), 1)
    assert (bar.ts, bar.open, bar.close, bar.volume) == (OPEN, 100.0, 100.0, 5)
    assert bars.open_bars == 1


def test_a_silent_minute_makes_no_bar_and_the_clock_still_closes_the_last_one() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 30))
    [bar] = bars.on_time(at(9, 20))
    assert bar.ts == OPEN
    assert bars.on_time(at(9, 30)) == []


def test_late_tick_for_a_closed_bar_is_dropped_and_counted() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 30))
    [closed] = bars.on_time(at(9, 16, 2))
    assert bars.on_tick(250.0, at(9, 15, 59), 1_000) == []
    assert bars.dropped_late == 1
    assert bars.open_bars == 0
    assert bars.flush() == []
    assert (closed.high, closed.volume) == (100.0, 0)


def test_a_tick_late_within_the_grace_still_counts_where_its_time_puts_it() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 30), 1)
    bars.on_tick(101.0, at(9, 16, 0), 1)
    bars.on_tick(99.0, at(9, 15, 59), 1)  # arrives after a 09:16 tick, inside the grace
    bars.on_tick(98.0, at(9, 15, 10), 1)  # earlier than the open seen so far: the new open
    [bar, _] = bars.flush()
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (98.0, 100.0, 98.0, 99.0, 3)
    assert bars.dropped_late == 0


def test_ticks_with_the_same_second_keep_arrival_order_for_open_and_close() -> None:
    bars = builder()
    for price in (100.0, 101.0, 99.5, 100.25):
        bars.on_tick(price, at(9, 15, 7))
    [bar] = bars.flush()
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 101.0, 99.5, 100.25)


@pytest.mark.parametrize(
    "moment",
    [
        at(9, 14, 59),  # pre-open
        at(9, 7, 0),  # pre-open auction
        at(15, 30, 0),  # the close itself is outside: the last bar is 15:29
        at(16, 0, 0),
        at(10, 0, 0, day=SATURDAY),
        at(10, 0, 0, day=date(2025, 3, 14)),  # Holi
    ],
)
def test_ticks_outside_the_session_are_dropped_counted_and_move_no_clock(
    moment: datetime,
) -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 0))
    assert bars.on_tick(100.0, moment) == []
    assert bars.dropped_outside_session == 1
    assert bars.open_bars == 1


def test_session_edges_make_the_first_and_last_bars_of_the_day() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 0))
    [first] = bars.on_tick(101.0, at(15, 29, 59))
    [last] = bars.on_time(at(15, 30, 2))
    assert (first.ts, last.ts) == (OPEN, at(15, 29))


def test_a_price_that_is_not_a_price_is_dropped_and_counted() -> None:
    bars = builder()
    for price in (float("nan"), float("inf"), 0.0, -5.0):
        bars.on_tick(price, at(9, 15, 1))
    bars.on_tick(100.0, at(9, 15, 2), volume=-1)
    assert bars.dropped_invalid == 5
    assert bars.open_bars == 0


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        builder().on_tick(100.0, datetime(2025, 3, 3, 9, 15))  # noqa: DTZ001


def test_open_interest_is_the_latest_reported() -> None:
    bars = builder()
    bars.on_tick(100.0, at(9, 15, 1), oi=10)
    bars.on_tick(100.0, at(9, 15, 20), oi=30)
    bars.on_tick(100.0, at(9, 15, 10), oi=20)
    bars.on_tick(100.0, at(9, 15, 40))
    [bar] = bars.flush()
    assert bar.oi == 30


def test_built_bars_pass_the_store_validation() -> None:
    stored = stored_days("NIFTY", DAY, days=2)
    rebuilt = bars_from_ticks(
        as_float32(ticks_from_candles(stored)),
        calendar=CALENDAR,
        price_decimals=INDEX_PRICE_DECIMALS,
    )
    assert validate_candles(rebuilt, CALENDAR).equals(rebuilt)


def test_no_ticks_give_an_empty_candle_frame() -> None:
    empty = pl.DataFrame(schema={"symbol": pl.String(), "ts": pl.Datetime("us", "UTC")})
    frame = bars_from_ticks(empty, calendar=CALENDAR, price_decimals=2)
    assert frame.is_empty() and frame.schema == pl.Schema(CANDLE_SCHEMA)


def test_a_grace_of_a_minute_or_more_is_refused() -> None:
    with pytest.raises(ValueError, match="under a minute"):
        builder(grace=timedelta(minutes=1))
