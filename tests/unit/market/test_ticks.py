"""The ticks a replay sends for stored 1m candles: path, times, volume split, open interest."""

from __future__ import annotations

from datetime import date, time, timedelta

import polars as pl
import pytest

from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.market.ticks import TICK_SCHEMA, TICKS_PER_CANDLE, ticks_from_candles

DAY = date(2025, 3, 3)


def candles(*rows: tuple[float, float, float, float, int, int | None]) -> pl.DataFrame:
    start = ist_datetime(DAY, time(9, 15))
    return pl.DataFrame(
        {
            "symbol": ["NIFTY"] * len(rows),
            "interval": ["1m"] * len(rows),
            "ts": [start + timedelta(minutes=i) for i in range(len(rows))],
            "open": [row[0] for row in rows],
            "high": [row[1] for row in rows],
            "low": [row[2] for row in rows],
            "close": [row[3] for row in rows],
            "volume": [row[4] for row in rows],
            "oi": [row[5] for row in rows],
        },
        schema=CANDLE_SCHEMA,
    )


def prices(frame: pl.DataFrame) -> list[float]:
    return frame.get_column("price").to_list()


def test_up_bar_goes_open_low_high_close() -> None:
    assert prices(ticks_from_candles(candles((100.0, 103.0, 99.0, 102.0, 4, None)))) == [
        100.0,
        99.0,
        103.0,
        102.0,
    ]


def test_down_bar_goes_open_high_low_close() -> None:
    assert prices(ticks_from_candles(candles((100.0, 101.0, 97.0, 98.0, 4, None)))) == [
        100.0,
        101.0,
        97.0,
        98.0,
    ]


def test_flat_bar_visits_the_nearer_extreme_first() -> None:
    nearer_high = candles((100.0, 100.5, 98.0, 100.0, 4, None))
    nearer_low = candles((100.0, 103.0, 99.5, 100.0, 4, None))
    assert prices(ticks_from_candles(nearer_high)) == [100.0, 100.5, 98.0, 100.0]
    assert prices(ticks_from_candles(nearer_low)) == [100.0, 99.5, 103.0, 100.0]


def test_flat_bar_with_equal_excursions_goes_low_first() -> None:
    assert prices(ticks_from_candles(candles((100.0, 101.0, 99.0, 100.0, 4, None)))) == [
        100.0,
        99.0,
        101.0,
        100.0,
    ]


def test_ticks_sit_at_0_15_30_45_seconds_of_the_candle_minute() -> None:
    ticks = ticks_from_candles(
        candles((100.0, 101.0, 99.0, 100.5, 4, None), (100.5, 100.5, 100.5, 100.5, 0, None))
    )
    start = ist_datetime(DAY, time(9, 15))
    expected = [start + timedelta(minutes=m, seconds=s) for m in (0, 1) for s in (0, 15, 30, 45)]
    assert ticks.get_column("ts").to_list() == expected
    assert ticks.schema == pl.Schema(TICK_SCHEMA)


def test_volume_is_split_evenly_with_the_remainder_on_the_first_ticks() -> None:
    ticks = ticks_from_candles(
        candles((100.0, 101.0, 99.0, 100.5, 10, None), (100.0, 101.0, 99.0, 100.5, 0, None))
    )
    assert ticks.get_column("volume").to_list() == [3, 3, 2, 2, 0, 0, 0, 0]


def test_open_interest_rides_on_the_close_tick_only() -> None:
    ticks = ticks_from_candles(candles((100.0, 101.0, 99.0, 100.5, 4, 7_500)))
    assert ticks.get_column("oi").to_list() == [None, None, None, 7_500]


def test_a_year_of_candles_gives_four_ticks_each_that_rebuild_every_field() -> None:
    stored = generate_market("NIFTY", days=250).candles
    ticks = ticks_from_candles(stored)
    assert ticks.height == TICKS_PER_CANDLE * stored.height
    per_bar = ticks.with_columns((pl.int_range(pl.len()) // TICKS_PER_CANDLE).alias("bar"))
    rebuilt = per_bar.group_by("bar", maintain_order=True).agg(
        pl.col("price").first().alias("open"),
        pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"),
        pl.col("price").last().alias("close"),
        pl.col("volume").sum(),
        pl.col("ts").diff().drop_nulls().min().alias("step"),
    )
    for column in ("open", "high", "low", "close", "volume"):
        assert rebuilt.get_column(column).equals(stored.get_column(column), check_names=False)
    assert (rebuilt.get_column("step") > timedelta(0)).all()


def test_empty_candles_give_no_ticks() -> None:
    assert ticks_from_candles(pl.DataFrame(schema=CANDLE_SCHEMA)).is_empty()


def test_candles_of_another_interval_are_refused() -> None:
    frame = candles((100.0, 101.0, 99.0, 100.5, 4, None)).with_columns(interval=pl.lit("5m"))
    with pytest.raises(ValueError, match="1m candles"):
        ticks_from_candles(frame)
