"""Invariants of the bar builder for any stream of ticks and clock readings hypothesis finds:
consistent OHLC, each bar closed exactly once and in order, a silent minute closed by the clock,
and late or out-of-order ticks never changing a bar already closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.bars import DEFAULT_GRACE, Bar, BarBuilder
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime

CALENDAR = NSECalendar.default()
OPEN = ist_datetime(date(2025, 3, 3), time(9, 15))
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Tick:
    at: datetime
    price: float
    volume: int


@dataclass(frozen=True)
class Clock:
    at: datetime


Event = Tick | Clock

# Around the open (pre-open ticks included) and over the first few minutes, to the millisecond,
# so ticks cross minute boundaries, arrive out of order and land inside and past the grace.
moments = st.integers(min_value=-90_000, max_value=8 * 60_000).map(
    lambda ms: OPEN + timedelta(milliseconds=ms)
)
ticks = st.builds(
    Tick,
    at=moments,
    price=st.floats(min_value=1.0, max_value=100_000.0, allow_nan=False),
    volume=st.integers(min_value=0, max_value=10_000),
)
events = st.lists(st.one_of(ticks, ticks, ticks, st.builds(Clock, at=moments)), max_size=60)


def builder() -> BarBuilder:
    return BarBuilder("NIFTY", calendar=CALENDAR, price_decimals=2, grace=DEFAULT_GRACE)


def feed(bars: BarBuilder, event: Event) -> list[Bar]:
    if isinstance(event, Tick):
        return bars.on_tick(event.price, event.at, event.volume)
    return bars.on_time(event.at)


def run(stream: list[Event]) -> tuple[BarBuilder, list[Bar]]:
    bars = builder()
    closed = [bar for event in stream for bar in feed(bars, event)]
    return bars, closed + bars.flush()


@settings(max_examples=300, deadline=None)
@given(stream=events)
def test_every_bar_has_high_and_low_around_its_open_and_close(stream: list[Event]) -> None:
    _, closed = run(stream)
    for bar in closed:
        assert bar.high >= max(bar.open, bar.close)
        assert bar.low <= min(bar.open, bar.close)
        assert bar.volume >= 0


@settings(max_examples=300, deadline=None)
@given(stream=events)
def test_each_bar_closes_exactly_once_and_in_time_order(stream: list[Event]) -> None:
    _, closed = run(stream)
    stamps = [bar.ts for bar in closed]
    assert stamps == sorted(set(stamps))
    assert all(stamp.second == 0 and stamp.microsecond == 0 for stamp in stamps)


@settings(max_examples=300, deadline=None)
@given(stream=events, last=ticks)
def test_the_clock_closes_a_silent_minute_at_its_end_plus_grace(
    stream: list[Event], last: Tick
) -> None:
    bars, _ = run(stream)
    dropped = bars.dropped_late + bars.dropped_outside_session + bars.dropped_invalid
    bars.on_tick(last.price, last.at, last.volume)
    if bars.dropped_late + bars.dropped_outside_session + bars.dropped_invalid > dropped:
        return  # the tick was not taken (late after the flush, or outside the session)
    minute = last.at.replace(second=0, microsecond=0)
    end = minute + MINUTE + DEFAULT_GRACE
    assert bars.on_time(end - timedelta(microseconds=1)) == []
    [bar] = bars.on_time(end)
    assert bar.ts == minute
    assert bars.open_bars == 0


late_ticks = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=59_999),  # millisecond of the closed minute
        st.floats(min_value=1.0, max_value=100_000.0, allow_nan=False),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(stream=events, late=late_ticks)
def test_late_ticks_never_change_a_closed_bar(
    stream: list[Event], late: list[tuple[int, float, int]]
) -> None:
    baseline, expected = run(stream)
    bars = builder()
    closed: list[Bar] = []
    injected = 0
    for event in stream:
        just_closed = feed(bars, event)
        closed.extend(just_closed)
        for bar in just_closed:
            for millisecond, price, volume in late:
                at = bar.ts + timedelta(milliseconds=millisecond)
                assert bars.on_tick(price, at, volume) == []
                injected += 1
    closed.extend(bars.flush())
    assert closed == expected
    assert bars.dropped_late == baseline.dropped_late + injected
