"""The NSE calendar: trading days, session boundaries, expiries and holiday files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import (
    IST,
    SESSION_MINUTES,
    NSECalendar,
    ist_datetime,
    load_holidays,
)
from tradeloop.errors import ConfigError

CALENDAR = NSECalendar.default()
HOLI_2026 = date(2026, 3, 3)


def at_ist(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=IST)


def test_bundled_holiday_is_not_a_trading_day() -> None:
    assert not CALENDAR.is_trading_day(HOLI_2026)
    assert CALENDAR.holidays[HOLI_2026] == "Holi"
    assert CALENDAR.is_trading_day(date(2026, 3, 2))


def test_weekend_is_not_a_trading_day() -> None:
    assert not CALENDAR.is_trading_day(date(2026, 3, 7))  # Saturday
    assert not CALENDAR.is_trading_day(date(2026, 3, 8))  # Sunday
    assert CALENDAR.is_trading_day(date(2026, 3, 9))


def test_march_2026_has_22_weekdays_less_three_holidays() -> None:
    sessions = CALENDAR.sessions(date(2026, 3, 1), date(2026, 3, 31))

    assert len(sessions) == 19
    days = [session.day for session in sessions]
    assert {HOLI_2026, date(2026, 3, 26), date(2026, 3, 31)}.isdisjoint(days)
    assert days[0] == date(2026, 3, 2)
    assert days[-1] == date(2026, 3, 30)


def test_session_opens_0915_and_closes_1530_ist_stored_in_utc() -> None:
    (session,) = CALENDAR.sessions(date(2026, 3, 2), date(2026, 3, 2))

    assert session.open == datetime(2026, 3, 2, 3, 45, tzinfo=UTC)
    assert session.close == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert session.open.tzinfo is UTC


def test_trading_days_is_empty_when_start_is_after_end() -> None:
    assert CALENDAR.trading_days(date(2026, 3, 10), date(2026, 3, 9)) == []


def test_previous_and_next_trading_day_skip_holiday_and_weekend() -> None:
    assert CALENDAR.previous_trading_day(date(2026, 3, 4)) == date(2026, 3, 2)
    assert CALENDAR.next_trading_day(date(2026, 3, 2)) == date(2026, 3, 4)
    assert CALENDAR.next_trading_day(date(2026, 3, 6)) == date(2026, 3, 9)
    assert CALENDAR.previous_trading_day(date(2026, 3, 9)) == date(2026, 3, 6)


@pytest.mark.parametrize(
    ("hour", "minute", "second", "expected"),
    [
        (9, 14, 59, False),
        (9, 14, 0, False),
        (9, 15, 0, True),
        (15, 29, 0, True),
        (15, 29, 59, True),
        (15, 30, 0, False),
    ],
)
def test_is_open_boundaries(hour: int, minute: int, second: int, expected: bool) -> None:
    moment = at_ist(date(2026, 3, 2), hour, minute, second)

    assert CALENDAR.is_open(moment) is expected
    assert CALENDAR.is_open(moment.astimezone(UTC)) is expected


def test_is_open_is_false_all_day_on_a_holiday_and_a_weekend() -> None:
    assert not CALENDAR.is_open(at_ist(HOLI_2026, 11, 0))
    assert not CALENDAR.is_open(at_ist(date(2026, 3, 7), 11, 0))


def test_is_open_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.is_open(datetime(2026, 3, 2, 10, 0))  # noqa: DTZ001 - the naive input is the point


_ANY_MOMENT = st.datetimes(
    min_value=datetime(2023, 12, 25),  # noqa: DTZ001 - hypothesis bounds are naive by design
    max_value=datetime(2027, 1, 5),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_NEAR_A_BOUNDARY = st.builds(
    lambda day, anchor, seconds: (
        datetime.combine(day, anchor, tzinfo=IST) + timedelta(seconds=seconds)
    ),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    st.sampled_from([time(9, 15), time(15, 30), time(0, 0)]),
    st.integers(min_value=-90, max_value=90),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_ANY_MOMENT, _NEAR_A_BOUNDARY), min_size=1, max_size=40))
def test_in_session_mask_equals_is_open(moments: list[datetime]) -> None:
    stamps = np.array(
        [moment.astimezone(UTC).replace(tzinfo=None) for moment in moments],
        dtype="datetime64[us]",
    )

    mask = CALENDAR.in_session_mask(stamps)

    assert mask.tolist() == [CALENDAR.is_open(moment) for moment in moments]


def test_minute_bars_are_375_open_times_per_session_all_in_session() -> None:
    bars = CALENDAR.minute_bars(date(2026, 3, 2), date(2026, 3, 6))

    assert len(bars) == 4 * SESSION_MINUTES  # Tuesday 3 March is Holi
    assert bars[0] == np.datetime64("2026-03-02T03:45")
    assert bars[SESSION_MINUTES - 1] == np.datetime64("2026-03-02T09:59")
    assert bars[SESSION_MINUTES] == np.datetime64("2026-03-04T03:45")
    assert bool(np.all(np.diff(bars) > np.timedelta64(0, "us")))
    assert bool(CALENDAR.in_session_mask(bars).all())


def test_user_holiday_file_extends_the_bundled_table(tmp_path: Path) -> None:
    extra = tmp_path / "holidays.csv"
    extra.write_text(
        "date,description\n# a closure announced late\n2026-03-04,Special closure\n",
        encoding="utf-8",
    )

    calendar = NSECalendar.default(extra)

    assert not calendar.is_trading_day(date(2026, 3, 4))
    assert calendar.holidays[date(2026, 3, 4)] == "Special closure"
    assert not calendar.is_trading_day(HOLI_2026)  # the bundled table is still there
    assert calendar.previous_trading_day(date(2026, 3, 5)) == date(2026, 3, 2)
    closure_noon = np.array(["2026-03-04T06:30"], dtype="datetime64[us]")
    assert not calendar.in_session_mask(closure_noon)[0]


def test_malformed_holiday_file_names_the_line_and_the_value(tmp_path: Path) -> None:
    bad = tmp_path / "holidays.csv"
    bad.write_text(
        "date,description\n# comment\n\n2026-03-04,fine\n04/03/2026,Bad format\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        NSECalendar.default(bad)

    message = str(caught.value)
    assert "line 5" in message
    assert "'04/03/2026'" in message
    assert "YYYY-MM-DD" in message
    assert str(bad) in message


def test_holiday_file_without_a_date_header_is_refused(tmp_path: Path) -> None:
    headerless = tmp_path / "holidays.csv"
    headerless.write_text("2026-03-04,Special closure\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"no 'date' column.*'date,description'"):
        load_holidays(headerless)


def test_missing_holiday_file_is_refused_with_the_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*holidays_file"):
        NSECalendar.default(tmp_path / "missing.csv")


def test_holiday_file_with_only_comments_adds_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "holidays.csv"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")

    assert load_holidays(empty) == {}


def test_holiday_file_without_description_column_loads(tmp_path: Path) -> None:
    dates_only = tmp_path / "holidays.csv"
    dates_only.write_text("Date\n2026-03-04\n", encoding="utf-8")

    assert load_holidays(dates_only) == {date(2026, 3, 4): ""}


def test_ist_datetime_converts_wall_clock_to_utc() -> None:
    assert ist_datetime(date(2026, 3, 2), time(9, 15)) == datetime(2026, 3, 2, 3, 45, tzinfo=UTC)
