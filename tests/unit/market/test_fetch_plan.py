"""Planning history requests: sessions only, consecutive days, capped spans, gaps to days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.fetch_plan import (
    FetchWindow,
    last_fetchable_day,
    missing_days,
    plan_windows,
)
from tradeloop.domain.market.session import OPEN

CALENDAR = NSECalendar.default()


def test_a_year_of_sessions_is_cut_into_spans_of_at_most_90_calendar_days() -> None:
    days = CALENDAR.trading_days(date(2025, 1, 1), date(2025, 12, 31))
    windows = plan_windows(CALENDAR, days, 90)
    assert len(windows) == 5
    assert all(window.calendar_days <= 90 for window in windows)
    assert sum(window.sessions for window in windows) == len(days)
    assert windows[0].first_day == days[0] and windows[-1].last_day == days[-1]


def test_without_a_cap_consecutive_sessions_are_one_request() -> None:
    days = CALENDAR.trading_days(date(2020, 1, 1), date(2025, 12, 31))
    (window,) = plan_windows(CALENDAR, days, None)
    assert (window.first_day, window.last_day, window.sessions) == (days[0], days[-1], len(days))


def test_a_stored_day_between_missing_ones_splits_the_request() -> None:
    days = [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 6), date(2025, 3, 7)]
    assert plan_windows(CALENDAR, days, 90) == [
        FetchWindow(date(2025, 3, 3), date(2025, 3, 4), 2),
        FetchWindow(date(2025, 3, 6), date(2025, 3, 7), 2),
    ]


def test_a_weekend_or_holiday_between_missing_days_does_not_split_it() -> None:
    # Fri 28 Mar, (Sat, Sun, Mon 31 Mar Id-ul-Fitr), Tue 1 Apr
    days = [date(2025, 3, 28), date(2025, 4, 1)]
    assert plan_windows(CALENDAR, days, 90) == [FetchWindow(date(2025, 3, 28), date(2025, 4, 1), 2)]


def test_a_cap_below_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        plan_windows(CALENDAR, [date(2025, 3, 3)], 0)


def test_a_gap_across_a_night_makes_both_days_missing() -> None:
    gap = (
        ist_datetime(date(2025, 3, 3), time(15, 29)),  # the last bar of the 3rd
        ist_datetime(date(2025, 3, 4), OPEN),
    )
    assert missing_days(CALENDAR, date(2025, 3, 1), date(2025, 3, 31), [gap]) == [
        date(2025, 3, 3),
        date(2025, 3, 4),
    ]


def test_missing_days_stay_inside_the_asked_range() -> None:
    gap = (ist_datetime(date(2025, 2, 27), OPEN), ist_datetime(date(2025, 3, 5), OPEN))
    assert missing_days(CALENDAR, date(2025, 3, 3), date(2025, 3, 4), [gap]) == [
        date(2025, 3, 3),
        date(2025, 3, 4),
    ]


def test_the_last_fetchable_day_is_today_in_ist() -> None:
    late_evening_utc = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)  # 01:30 IST on the 4th
    assert last_fetchable_day(date(2025, 12, 31), late_evening_utc) == date(2025, 3, 4)
    assert last_fetchable_day(date(2025, 1, 31), late_evening_utc) == date(2025, 1, 31)
