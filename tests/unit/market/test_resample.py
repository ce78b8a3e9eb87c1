"""Resampling 1m candles into session-anchored 5m … 1d bars."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import IST, SESSION_MINUTES
from tradeloop.domain.market.candles import CANDLE_SCHEMA, INTERVAL_MINUTES, empty_candles
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.errors import DataValidationError

DAY = date(2025, 1, 2)

Row = tuple[int, float, float, float, float, int, int | None]
"""minute after 09:15, open, high, low, close, volume, oi"""

TWENTY_MINUTES: list[Row] = [
    (0, 100.0, 101.0, 99.5, 100.5, 10, None),
    (1, 100.5, 102.0, 100.0, 101.5, 20, None),
    (2, 101.5, 101.8, 100.9, 101.0, 30, None),
    (3, 101.0, 101.2, 98.0, 98.5, 40, None),
    (4, 98.5, 99.0, 98.2, 98.8, 50, None),
    (5, 98.8, 99.9, 98.7, 99.6, 11, 500),
    (6, 99.6, 103.0, 99.5, 102.7, 12, None),
    (7, 102.7, 102.9, 101.9, 102.0, 13, 520),
    (8, 102.0, 102.4, 101.5, 101.6, 14, None),
    (9, 101.6, 101.7, 100.8, 101.1, 15, None),
    (10, 101.1, 101.5, 100.6, 101.4, 1, None),
    (11, 101.4, 101.9, 101.2, 101.8, 2, None),
    (12, 101.8, 102.2, 101.7, 102.1, 3, None),
    (13, 102.1, 102.6, 102.0, 102.5, 4, None),
    (14, 102.5, 102.8, 102.3, 102.4, 5, None),
    (15, 102.4, 102.5, 101.0, 101.2, 100, 600),
    (16, 101.2, 101.3, 100.1, 100.4, 200, 610),
    (17, 100.4, 100.9, 100.2, 100.8, 300, None),
    (18, 100.8, 101.6, 100.7, 101.5, 400, None),
    (19, 101.5, 101.7, 101.4, 101.6, 500, None),
]


def session_minute(day: date, minute: int) -> datetime:
    """The UTC open time of the bar `minute` minutes after 09:15 IST on `day`."""
    return (
        datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST) + timedelta(minutes=minute)
    ).astimezone(UTC)


def candles(
    rows: Sequence[Row],
    *,
    day: date = DAY,
    symbol: str = "NIFTY",
    interval: str = "1m",
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(rows),
            "interval": [interval] * len(rows),
            "ts": [session_minute(day, row[0]) for row in rows],
            "open": [row[1] for row in rows],
            "high": [row[2] for row in rows],
            "low": [row[3] for row in rows],
            "close": [row[4] for row in rows],
            "volume": [row[5] for row in rows],
            "oi": [row[6] for row in rows],
        },
        schema=CANDLE_SCHEMA,
    )


def bars(interval: str, expected: list[Row]) -> pl.DataFrame:
    return candles(expected, interval=interval)


def test_twenty_minutes_to_5m_by_hand() -> None:
    result = resample(candles(TWENTY_MINUTES), "5m")

    expected = bars(
        "5m",
        [
            (0, 100.0, 102.0, 98.0, 98.8, 150, None),
            (5, 98.8, 103.0, 98.7, 101.1, 65, 520),
            (10, 101.1, 102.8, 100.6, 102.4, 15, None),
            (15, 102.4, 102.5, 100.1, 101.6, 1500, 610),
        ],
    )
    assert result.equals(expected)


def test_twenty_minutes_to_15m_by_hand() -> None:
    result = resample(candles(TWENTY_MINUTES), "15m")

    expected = bars(
        "15m",
        [
            (0, 100.0, 103.0, 98.0, 102.4, 230, 520),
            (15, 102.4, 102.5, 100.1, 101.6, 1500, 610),
        ],
    )
    assert result.equals(expected)


def test_30m_buckets_start_at_0915_and_0945() -> None:
    rows = [(minute, 100.0, 101.0, 99.0, 100.0, 1, None) for minute in (0, 29, 30, 59, 60)]

    result = resample(candles(rows), "30m")

    assert result["ts"].to_list() == [
        session_minute(DAY, 0),
        session_minute(DAY, 30),
        session_minute(DAY, 60),
    ]
    assert result["volume"].to_list() == [2, 2, 1]


def test_shuffled_input_gives_the_same_bars() -> None:
    source = candles(TWENTY_MINUTES)

    assert resample(source.sample(fraction=1.0, shuffle=True, seed=3), "5m").equals(
        resample(source, "5m")
    )


def test_1h_buckets_run_0915_to_1515_and_the_last_is_a_partial_quarter_hour() -> None:
    session = generate_market("NIFTY", days=1, start=DAY).candles

    result = resample(session, "1h")

    opens_ist = [ts.astimezone(IST).strftime("%H:%M") for ts in result["ts"].to_list()]
    assert opens_ist == ["09:15", "10:15", "11:15", "12:15", "13:15", "14:15", "15:15"]
    last_quarter = session.tail(15)
    assert last_quarter["ts"][0] == session_minute(DAY, 360)
    last = result.row(-1, named=True)
    assert last["open"] == last_quarter["open"][0]
    assert last["high"] == last_quarter["high"].max()
    assert last["low"] == last_quarter["low"].min()
    assert last["close"] == last_quarter["close"][-1]
    assert last["volume"] == last_quarter["volume"].sum()
    first_hour = session.head(60)
    assert result["volume"][0] == first_hour["volume"].sum()
    assert result["volume"].sum() == session["volume"].sum()


def test_1d_is_one_bar_per_session_stamped_0915_ist() -> None:
    market = generate_market("BANKNIFTY", days=3, start=date(2025, 3, 13))  # Holi on the 14th
    minutes = market.candles

    result = resample(minutes, "1d")

    assert result["ts"].to_list() == [
        session_minute(date(2025, 3, 13), 0),
        session_minute(date(2025, 3, 17), 0),
        session_minute(date(2025, 3, 18), 0),
    ]
    sessions = minutes.with_columns(pl.col("ts").dt.date().alias("day")).partition_by(
        "day", maintain_order=True
    )
    for index, session in enumerate(sessions):
        bar = result.row(index, named=True)
        assert bar["open"] == session["open"][0]
        assert bar["high"] == session["high"].max()
        assert bar["low"] == session["low"].min()
        assert bar["close"] == session["close"][-1]
        assert bar["volume"] == session["volume"].sum()
        assert bar["oi"] is None
    assert set(result["interval"]) == {"1d"}
    assert result.schema == pl.Schema(CANDLE_SCHEMA)


def test_two_symbols_are_resampled_apart_and_sorted_by_symbol_then_time() -> None:
    nifty = generate_market("NIFTY", days=2).candles
    banknifty = generate_market("BANKNIFTY", days=2).candles
    mixed = pl.concat([nifty, banknifty]).sample(fraction=1.0, shuffle=True, seed=5)

    result = resample(mixed, "15m")

    expected = pl.concat([resample(banknifty, "15m"), resample(nifty, "15m")])
    assert result.equals(expected)
    assert result["symbol"].head(1).item() == "BANKNIFTY"


def test_1m_to_1m_returns_the_candles_sorted() -> None:
    source = candles(TWENTY_MINUTES)

    assert resample(source.reverse(), "1m").equals(source)


def test_empty_frame_resamples_to_an_empty_frame_with_the_interval() -> None:
    result = resample(empty_candles(), "1h")

    assert result.is_empty()
    assert result.schema == pl.Schema(CANDLE_SCHEMA)


def test_all_null_oi_stays_null() -> None:
    rows = [(minute, 100.0, 101.0, 99.0, 100.0, 1, None) for minute in range(5)]

    assert resample(candles(rows), "5m")["oi"].to_list() == [None]


@pytest.mark.parametrize(
    ("interval", "hint"),
    [("60m", "did you mean '1h'"), ("1H", "did you mean '1h'"), ("2h", "use one of")],
)
def test_unknown_interval_is_refused_naming_the_allowed_ones(interval: str, hint: str) -> None:
    with pytest.raises(DataValidationError) as caught:
        resample(candles(TWENTY_MINUTES), interval)

    message = str(caught.value)
    assert repr(interval) in message
    assert hint in message
    assert "1m, 5m, 15m, 30m, 1h, 1d" in message


def test_a_source_that_is_not_1m_is_refused() -> None:
    five_minute = resample(candles(TWENTY_MINUTES), "5m")

    with pytest.raises(DataValidationError, match=r"needs 1m candles, got interval '5m'"):
        resample(five_minute, "15m")


def test_resampling_to_a_finer_interval_is_refused() -> None:
    five_minute = resample(candles(TWENTY_MINUTES), "5m")

    with pytest.raises(DataValidationError, match=r"cannot resample 5m candles to the finer"):
        resample(five_minute, "1m")


def test_a_frame_without_the_candle_columns_is_refused() -> None:
    with pytest.raises(DataValidationError, match=r"lack the column\(s\) interval, oi"):
        resample(candles(TWENTY_MINUTES).drop("interval", "oi"), "5m")


def test_a_minute_outside_the_session_is_refused_naming_its_row() -> None:
    pre_open = candles([(-6, 100.0, 101.0, 99.0, 100.0, 1, None)])
    source = pl.concat([candles(TWENTY_MINUTES[:3]), pre_open])

    with pytest.raises(DataValidationError) as caught:
        resample(source, "5m")

    message = str(caught.value)
    assert "row 3" in message
    assert "09:09" in message
    assert "in_session_mask" in message


_ROWS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1),
        st.integers(min_value=0, max_value=SESSION_MINUTES - 1),
        st.floats(min_value=1.0, max_value=1_000.0, allow_nan=False),
        st.integers(min_value=0, max_value=1_000),
        st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
    ),
    min_size=1,
    max_size=120,
    unique_by=lambda row: (row[0], row[1]),
)


@settings(max_examples=60, deadline=None)
@given(_ROWS, st.sampled_from(["5m", "15m", "30m", "1h", "1d"]))
def test_resample_matches_a_plain_python_grouping(
    rows: list[tuple[int, int, float, int, int | None]], interval: str
) -> None:
    days = (DAY, DAY + timedelta(days=1))
    ordered = sorted(rows)
    source = pl.concat(
        [
            candles(
                [
                    (minute, price, price + 1.0, price - 0.5, price + 0.25, volume, oi)
                    for bar_session, minute, price, volume, oi in ordered
                    if bar_session == session
                ],
                day=day,
            )
            for session, day in enumerate(days)
        ]
    )
    width = INTERVAL_MINUTES[interval]
    groups: dict[tuple[int, int], list[tuple[int, float, int, int | None]]] = defaultdict(list)
    for session, minute, price, volume, oi in ordered:
        groups[(session, minute // width * width)].append((minute, price, volume, oi))

    result = resample(source, interval)

    expected = pl.concat(
        [
            candles(
                [
                    (
                        start,
                        members[0][1],
                        max(member[1] for member in members) + 1.0,
                        min(member[1] for member in members) - 0.5,
                        members[-1][1] + 0.25,
                        sum(member[2] for member in members),
                        next(
                            (member[3] for member in reversed(members) if member[3] is not None),
                            None,
                        ),
                    )
                ],
                day=days[session],
                interval=interval,
            )
            for (session, start), members in sorted(groups.items())
        ]
    )
    assert result.equals(expected)
