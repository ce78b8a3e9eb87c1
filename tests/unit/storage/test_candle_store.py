"""Candle store behaviour, run against the in-memory and the Parquet store alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.storage.candles import (
    Gap,
    InMemoryCandleStore,
    ParquetCandleStore,
    PartitionedCandleStore,
)

CandleFactory = Callable[..., pl.DataFrame]
MONDAY, TUESDAY, WEDNESDAY = date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8)


def test_round_trip_keeps_schema_and_utc(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    frame = candles(MONDAY, WEDNESDAY)
    report = store.write(frame)
    assert (report.rows_inserted, report.rows_replaced) == (frame.height, 0)
    assert report.partitions == ("symbol=NIFTY/interval=1m/year=2025",)
    loaded = store.load("NIFTY", "1m")
    assert dict(loaded.schema) == CANDLE_SCHEMA
    assert loaded["ts"].dtype.time_zone == "UTC"  # type: ignore[attr-defined]
    assert loaded.equals(frame)


def test_load_range_is_start_inclusive_end_exclusive_in_any_timezone(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, WEDNESDAY))
    start = datetime(2025, 1, 7, 9, 15, tzinfo=IST)
    end = datetime(2025, 1, 7, 10, 15, tzinfo=IST)
    loaded = store.load("nifty", "1m", start, end)
    assert loaded.height == 60
    assert loaded["ts"][0] == start
    assert loaded["ts"][-1] == end - timedelta(minutes=1)
    only_start = store.load("NIFTY", "1m", start=datetime(2025, 1, 8, 4, 0, tzinfo=UTC))
    assert only_start["ts"][0] == datetime(2025, 1, 8, 4, 0, tzinfo=UTC)


def test_naive_bounds_are_refused(store: PartitionedCandleStore, candles: CandleFactory) -> None:
    store.write(candles(MONDAY, MONDAY))
    with pytest.raises(DataValidationError, match=r"end=2025-01-07T00:00:00 has no timezone"):
        store.load("NIFTY", "1m", end=datetime(2025, 1, 7))  # noqa: DTZ001 - the point


def test_writing_the_same_frame_twice_keeps_one_copy(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    frame = candles(MONDAY, TUESDAY)
    store.write(frame)
    again = store.write(frame)
    assert (again.rows_inserted, again.rows_replaced) == (0, frame.height)
    assert store.load("NIFTY", "1m").equals(frame)


def test_overlapping_write_replaces_the_overlap_and_keeps_the_rest(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    first = candles(MONDAY, TUESDAY, seed=1)
    second = candles(TUESDAY, WEDNESDAY, seed=2)
    store.write(first)
    report = store.write(second)
    assert (report.rows_inserted, report.rows_replaced) == (375, 375)
    loaded = store.load("NIFTY", "1m")
    expected = pl.concat([first.head(375), second])
    assert loaded.equals(expected)
    assert loaded["ts"].is_unique().all()


def test_a_read_after_a_rewrite_sees_the_new_values(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, MONDAY, seed=1))
    store.load("NIFTY", "1m")  # warm whatever a store caches about the partition
    rewritten = candles(MONDAY, MONDAY, seed=2)
    store.write(rewritten)
    assert store.load("NIFTY", "1m").equals(rewritten)


def test_a_write_across_new_year_touches_two_partitions(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    frame = candles(date(2024, 12, 30), date(2025, 1, 2))
    report = store.write(frame)
    assert report.partitions == (
        "symbol=NIFTY/interval=1m/year=2024",
        "symbol=NIFTY/interval=1m/year=2025",
    )
    assert store.load("NIFTY", "1m").equals(frame)
    january = store.load("NIFTY", "1m", start=datetime(2025, 1, 1, tzinfo=IST))
    assert january.height == 2 * 375


def test_a_refused_frame_writes_nothing(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    good = candles(MONDAY, MONDAY)
    store.write(good)
    bad = candles(MONDAY, TUESDAY, seed=5).with_columns(
        pl.when(pl.int_range(pl.len()) == 400).then(-1).otherwise("volume").alias("volume")
    )
    with pytest.raises(DataValidationError, match="negative volume"):
        store.write(bad)
    assert store.load("NIFTY", "1m").equals(good)


def test_nothing_is_stored_when_the_first_write_is_refused(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    with pytest.raises(DataValidationError):
        store.write(candles(MONDAY, MONDAY).with_columns(pl.lit(-1.0).alias("low")))
    assert store.series() == []


def test_empty_frame_writes_nothing(store: PartitionedCandleStore, candles: CandleFactory) -> None:
    report = store.write(candles(MONDAY, MONDAY).head(0))
    assert (report.rows_written, report.partitions) == (0, ())
    assert store.series() == []


def test_unknown_symbol_suggests_a_stored_one(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, MONDAY))
    store.write(candles(MONDAY, MONDAY, symbol="BANKNIFTY"))
    with pytest.raises(NotFoundError) as caught:
        store.load("NIFTI", "1m")
    assert "no symbol 'NIFTI' in the candle store (stored: BANKNIFTY, NIFTY)" in str(caught.value)
    assert "Did you mean NIFTY?" in str(caught.value)


def test_unknown_interval_lists_the_stored_ones(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, MONDAY))
    with pytest.raises(NotFoundError, match=r"no '5m' candles for NIFTY \(stored: 1m\)"):
        store.load("NIFTY", "5m")


def test_empty_store_says_nothing_is_stored(store: PartitionedCandleStore) -> None:
    with pytest.raises(NotFoundError, match=r"stored: nothing yet"):
        store.load("NIFTY", "1m")


def test_series_summarises_each_symbol_and_interval(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, WEDNESDAY))
    store.write(candles(MONDAY, TUESDAY, interval="5m"))
    store.write(candles(date(2024, 12, 31), MONDAY, symbol="BANKNIFTY"))
    summaries = {(s.symbol, s.interval): s for s in store.series()}
    assert list(summaries) == [("BANKNIFTY", "1m"), ("NIFTY", "1m"), ("NIFTY", "5m")]
    nifty = summaries[("NIFTY", "1m")]
    assert (nifty.rows, nifty.sessions) == (3 * 375, 3)
    assert nifty.first == datetime(2025, 1, 6, 9, 15, tzinfo=IST)
    assert nifty.last == datetime(2025, 1, 8, 15, 29, tzinfo=IST)
    assert summaries[("NIFTY", "5m")].rows == 2 * 75
    assert summaries[("BANKNIFTY", "1m")].sessions == 5


def test_gaps_finds_punched_holes_as_contiguous_runs(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    frame = candles(MONDAY, date(2025, 1, 10))
    ist = pl.col("ts").dt.convert_time_zone("Asia/Kolkata")
    hole = (ist >= datetime(2025, 1, 7, 11, 0, tzinfo=IST)) & (
        ist < datetime(2025, 1, 7, 11, 5, tzinfo=IST)
    )
    thursday = ist.dt.date() == date(2025, 1, 9)
    store.write(frame.filter(~hole & ~thursday))
    gaps = store.gaps("NIFTY", "1m", MONDAY, date(2025, 1, 10))
    assert gaps == [
        Gap(
            start=datetime(2025, 1, 7, 11, 0, tzinfo=IST),
            end=datetime(2025, 1, 7, 11, 4, tzinfo=IST),
            count=5,
        ),
        Gap(
            start=datetime(2025, 1, 9, 9, 15, tzinfo=IST),
            end=datetime(2025, 1, 9, 15, 29, tzinfo=IST),
            count=375,
        ),
    ]


def test_gaps_run_across_the_night(store: PartitionedCandleStore, candles: CandleFactory) -> None:
    frame = candles(MONDAY, TUESDAY)
    store.write(pl.concat([frame.head(370), frame.tail(370)]))
    assert store.gaps("NIFTY", "1m", MONDAY, TUESDAY) == [
        Gap(
            start=datetime(2025, 1, 6, 15, 25, tzinfo=IST),
            end=datetime(2025, 1, 7, 9, 19, tzinfo=IST),
            count=10,
        )
    ]


def test_gaps_of_daily_and_hourly_series(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    daily = candles(date(2025, 2, 24), date(2025, 3, 7), interval="1d")  # 26 Feb is a holiday
    store.write(daily.filter(pl.int_range(pl.len()) != 4))
    assert [
        (g.start, g.count) for g in store.gaps("NIFTY", "1d", date(2025, 2, 24), date(2025, 3, 7))
    ] == [(datetime(2025, 3, 3, 9, 15, tzinfo=IST), 1)]
    hourly = candles(MONDAY, MONDAY, interval="1h")
    assert hourly.height == 7
    store.write(hourly.head(6))
    assert store.gaps("NIFTY", "1h", MONDAY, MONDAY) == [
        Gap(
            start=datetime(2025, 1, 6, 15, 15, tzinfo=IST),
            end=datetime(2025, 1, 6, 15, 15, tzinfo=IST),
            count=1,
        )
    ]


def test_no_gaps_in_a_complete_series_and_none_on_holidays(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, WEDNESDAY))
    assert store.gaps("NIFTY", "1m", MONDAY, WEDNESDAY) == []
    assert store.gaps("NIFTY", "1m", date(2025, 1, 11), date(2025, 1, 12)) == []  # a weekend


def test_gaps_with_reversed_days_are_refused(
    store: PartitionedCandleStore, candles: CandleFactory
) -> None:
    store.write(candles(MONDAY, MONDAY))
    with pytest.raises(DataValidationError, match="the end is before the start"):
        store.gaps("NIFTY", "1m", TUESDAY, MONDAY)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 99)), min_size=1, max_size=4
    )
)
def test_parquet_and_memory_stores_agree_on_any_write_sequence(
    tmp_path_factory: pytest.TempPathFactory,
    calendar: NSECalendar,
    candles: CandleFactory,
    writes: list[tuple[int, int, int]],
) -> None:
    days = calendar.trading_days(date(2024, 12, 27), date(2025, 1, 3))
    memory = InMemoryCandleStore(calendar)
    parquet = ParquetCandleStore(Path(tmp_path_factory.mktemp("agree")), calendar)
    expected: dict[datetime, tuple[float, ...]] = {}
    for first, last, seed in writes:
        frame = candles(days[min(first, last)], days[max(first, last)], seed=seed)
        assert memory.write(frame) == parquet.write(frame)
        expected.update((row[2], row[3:7]) for row in frame.iter_rows())
    loaded = parquet.load("NIFTY", "1m")
    assert loaded.equals(memory.load("NIFTY", "1m"))
    assert loaded["ts"].to_list() == sorted(expected)
    assert [row[3:7] for row in loaded.iter_rows()] == [expected[ts] for ts in sorted(expected)]
    assert parquet.series() == memory.series()
    assert parquet.gaps("NIFTY", "1m", days[0], days[-1]) == memory.gaps(
        "NIFTY", "1m", days[0], days[-1]
    )
    parquet.close()
