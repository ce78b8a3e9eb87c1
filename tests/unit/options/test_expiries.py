"""The NSE index option expiry calendar: the rule table over the years, holidays, the choice
rules and the time left to the close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tradeloop.app import stores
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.options.expiries import (
    Expiry,
    ExpiryCalendar,
    ExpiryRule,
    bundled_expiry_rules,
    parse_expiry_rules,
    time_to_expiry,
)
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.settings import Settings

CALENDAR = NSECalendar.default()
EXPIRIES = ExpiryCalendar(bundled_expiry_rules(), CALENDAR)


def days(symbol: str, start: date, end: date, kind: str | None = None) -> list[date]:
    return [e.day for e in EXPIRIES.expiries(symbol, start, end) if kind in (None, e.kind)]


def test_every_bundled_rule_names_its_source() -> None:
    rules = bundled_expiry_rules()
    assert {r.underlying for r in rules} == {"NIFTY", "BANKNIFTY"}
    assert all(len(r.source) > 40 for r in rules)


# -- the rules over the years ---------------------------------------------------------------------


def test_nifty_weeklies_expire_on_thursday_until_august_2025() -> None:
    assert days("NIFTY", date(2025, 7, 1), date(2025, 8, 28)) == [
        date(2025, 7, 3),
        date(2025, 7, 10),
        date(2025, 7, 17),
        date(2025, 7, 24),
        date(2025, 7, 31),  # the July monthly: last Thursday
        date(2025, 8, 7),
        date(2025, 8, 14),
        date(2025, 8, 21),
        date(2025, 8, 28),
    ]
    assert days("NIFTY", date(2025, 7, 1), date(2025, 8, 31), "monthly") == [
        date(2025, 7, 31),
        date(2025, 8, 28),
    ]


def test_nifty_expiries_move_to_tuesday_from_september_2025() -> None:
    assert days("NIFTY", date(2025, 8, 29), date(2025, 9, 30)) == [
        date(2025, 9, 2),  # the first Tuesday weekly
        date(2025, 9, 9),
        date(2025, 9, 16),
        date(2025, 9, 23),
        date(2025, 9, 30),
    ]
    assert EXPIRIES.expiries("NIFTY", date(2025, 9, 30), date(2025, 9, 30)) == [
        Expiry(date(2025, 9, 30), "monthly")  # last Tuesday; it is also that week's contract
    ]


def test_banknifty_weeklies_on_wednesday_skip_the_week_of_the_thursday_monthly() -> None:
    # January 2024: weekly on Wednesday, monthly on the last Thursday (no weekly on 01-24).
    assert EXPIRIES.expiries("BANKNIFTY", date(2024, 1, 15), date(2024, 2, 2)) == [
        Expiry(date(2024, 1, 17), "weekly"),
        Expiry(date(2024, 1, 25), "monthly"),
        Expiry(date(2024, 1, 31), "weekly"),
    ]


def test_banknifty_monthly_moves_to_last_wednesday_from_march_2024() -> None:
    monthlies = days("BANKNIFTY", date(2024, 2, 1), date(2024, 4, 30), "monthly")
    assert monthlies == [date(2024, 2, 29), date(2024, 3, 27), date(2024, 4, 24)]


def test_banknifty_weeklies_end_on_2024_11_13_and_monthlies_remain() -> None:
    assert EXPIRIES.expiries("BANKNIFTY", date(2024, 11, 1), date(2025, 2, 28)) == [
        Expiry(date(2024, 11, 6), "weekly"),
        Expiry(date(2024, 11, 13), "weekly"),  # the last BANKNIFTY weekly
        Expiry(date(2024, 11, 27), "monthly"),
        Expiry(date(2024, 12, 24), "monthly"),  # last Wednesday 12-25 is Christmas
        Expiry(date(2025, 1, 30), "monthly"),  # last Thursday from 2025-01-01
        Expiry(date(2025, 2, 27), "monthly"),
    ]


def test_banknifty_monthly_moves_to_last_tuesday_from_september_2025() -> None:
    monthlies = days("BANKNIFTY", date(2025, 8, 1), date(2025, 10, 31))
    assert monthlies == [date(2025, 8, 28), date(2025, 9, 30), date(2025, 10, 28)]


# -- holidays ------------------------------------------------------------------------------------


def test_a_thursday_holiday_moves_the_nifty_weekly_to_wednesday() -> None:
    assert CALENDAR.holidays[date(2024, 8, 15)] == "Independence Day"  # a Thursday
    assert date(2024, 8, 14) in days("NIFTY", date(2024, 8, 12), date(2024, 8, 18))
    assert days("NIFTY", date(2024, 8, 12), date(2024, 8, 18)) == [date(2024, 8, 14)]


def test_a_tuesday_holiday_moves_the_nifty_weekly_to_monday() -> None:
    assert date(2025, 10, 21) in CALENDAR.holidays  # Diwali Laxmi Pujan, a Tuesday
    assert days("NIFTY", date(2025, 10, 15), date(2025, 10, 24)) == [date(2025, 10, 20)]


def test_a_tuesday_holiday_moves_the_nifty_monthly_to_monday() -> None:
    assert date(2026, 3, 31) in CALENDAR.holidays  # Shri Mahavir Jayanti, the last Tuesday
    assert days("NIFTY", date(2026, 3, 1), date(2026, 3, 31), "monthly") == [date(2026, 3, 30)]
    # Holi on Tuesday 03-03 moves that week's weekly to Monday 03-02 as well.
    assert days("NIFTY", date(2026, 3, 1), date(2026, 3, 8)) == [date(2026, 3, 2)]


# -- choosing an expiry --------------------------------------------------------------------------


def test_on_an_expiry_morning_the_current_weekly_is_today() -> None:
    expiry = EXPIRIES.expiry_for("NIFTY", date(2026, 3, 10), ExpiryRule.CURRENT_WEEKLY)
    assert expiry == Expiry(date(2026, 3, 10), "weekly")
    # ... so it settles at today's close: a position in it must be squared off before 15:30.
    morning = ist_datetime(date(2026, 3, 10), datetime.min.time().replace(hour=9, minute=15))
    assert time_to_expiry(morning, expiry.day) == pytest.approx(375 * 60 / (365 * 86400))


def test_current_and_next_weekly_after_a_holiday_moved_expiry() -> None:
    # Monday 2026-03-02 is the weekly (Tuesday 03-03 is Holi); on 03-03 the next one is 03-10.
    assert EXPIRIES.expiry_for("NIFTY", date(2026, 3, 2), ExpiryRule.CURRENT_WEEKLY).day == date(
        2026, 3, 2
    )
    assert EXPIRIES.expiry_for("NIFTY", date(2026, 3, 2), ExpiryRule.NEXT_WEEKLY).day == date(
        2026, 3, 10
    )
    assert EXPIRIES.expiry_for("NIFTY", date(2026, 3, 4), ExpiryRule.CURRENT_WEEKLY).day == date(
        2026, 3, 10
    )


def test_the_current_weekly_in_a_monthly_week_is_the_monthly_contract() -> None:
    expiry = EXPIRIES.expiry_for("NIFTY", date(2025, 9, 29), ExpiryRule.CURRENT_WEEKLY)
    assert expiry == Expiry(date(2025, 9, 30), "monthly")


def test_monthly_is_this_months_until_it_passes_then_next_months() -> None:
    rule = ExpiryRule.MONTHLY
    assert EXPIRIES.expiry_for("NIFTY", date(2026, 3, 30), rule).day == date(2026, 3, 30)
    assert EXPIRIES.expiry_for("NIFTY", date(2026, 3, 31), rule).day == date(2026, 4, 28)
    assert EXPIRIES.expiry_for("BANKNIFTY", date(2025, 1, 2), rule).day == date(2025, 1, 30)


def test_nearest_with_days_left_skips_expiries_too_close() -> None:
    rule = ExpiryRule.NEAREST_WITH_DAYS_LEFT
    on = date(2026, 3, 9)  # a Monday; weeklies on 03-10, 03-17, 03-24, monthly 03-30
    assert EXPIRIES.expiry_for("NIFTY", on, rule, min_days_left=0).day == date(2026, 3, 10)
    assert EXPIRIES.expiry_for("NIFTY", on, rule, min_days_left=2).day == date(2026, 3, 17)
    assert EXPIRIES.expiry_for("NIFTY", on, rule, min_days_left=15).day == date(2026, 3, 24)
    assert EXPIRIES.expiry_for("NIFTY", on, rule, min_days_left=16).day == date(2026, 3, 30)
    monthly = EXPIRIES.expiry_for("BANKNIFTY", on, rule, min_days_left=3)
    assert monthly == Expiry(date(2026, 3, 30), "monthly")


def test_a_weekly_rule_on_banknifty_after_the_weeklies_ended_is_refused() -> None:
    with pytest.raises(NotFoundError, match=r"discontinued from 2024-11-14.*MONTHLY"):
        EXPIRIES.expiry_for("BANKNIFTY", date(2025, 3, 3), ExpiryRule.CURRENT_WEEKLY)
    last = EXPIRIES.expiry_for("BANKNIFTY", date(2024, 11, 7), ExpiryRule.CURRENT_WEEKLY)
    assert last == Expiry(date(2024, 11, 13), "weekly")
    with pytest.raises(NotFoundError, match="weekly options end before"):
        EXPIRIES.expiry_for("BANKNIFTY", date(2024, 11, 7), ExpiryRule.NEXT_WEEKLY)


# -- what is not known ---------------------------------------------------------------------------


def test_a_day_before_the_rule_table_is_refused_with_what_to_do() -> None:
    rules = [r for r in bundled_expiry_rules() if r.effective_from >= date(2023, 9, 4)]
    expiries = ExpiryCalendar(rules, NSECalendar({date(2023, 1, 26): "Republic Day"}))
    with pytest.raises(NotFoundError, match="rule table starts on 2023-09-04 for BANKNIFTY"):
        expiries.expiry_for("BANKNIFTY", date(2023, 8, 1), ExpiryRule.MONTHLY)


def test_a_day_outside_the_holiday_table_is_refused_naming_the_setting() -> None:
    with pytest.raises(NotFoundError, match=r"holiday table covers 2024-01-01 to 2026-12-31"):
        EXPIRIES.expiries("NIFTY", date(2023, 6, 1), date(2023, 6, 30))
    with pytest.raises(NotFoundError, match=r"holidays_file"):
        EXPIRIES.expiry_for("NIFTY", date(2027, 1, 4), ExpiryRule.CURRENT_WEEKLY)


def test_late_december_monthly_needs_next_years_holidays() -> None:
    # The January 2027 monthly is not known while the holiday table ends with 2026.
    with pytest.raises(NotFoundError, match="next year's NSE holidays"):
        EXPIRIES.expiry_for("NIFTY", date(2026, 12, 30), ExpiryRule.MONTHLY)


def test_an_unknown_index_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="knows BANKNIFTY, NIFTY"):
        EXPIRIES.expiries("FINNIFTY", date(2025, 1, 1), date(2025, 1, 31))


def test_a_bad_rule_row_names_its_line() -> None:
    text = (
        "effective_from,underlying,weekly_weekday,monthly_weekday,source\n2025-01-01,X,SUN,TUE,s\n"
    )
    with pytest.raises(DataValidationError, match=r"rules\.csv line 2"):
        parse_expiry_rules(text, "rules.csv")


# -- time to expiry ------------------------------------------------------------------------------


def test_time_to_expiry_counts_to_the_1530_ist_close_to_the_minute() -> None:
    close = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 15:30 IST
    assert time_to_expiry(close, date(2026, 3, 10)) == 0.0
    assert time_to_expiry(close + timedelta(minutes=1), date(2026, 3, 10)) == 0.0
    one_minute = time_to_expiry(close - timedelta(minutes=1), date(2026, 3, 10))
    assert one_minute == pytest.approx(60 / (365 * 86400))
    week = time_to_expiry(close - timedelta(days=7), date(2026, 3, 10))
    assert week == pytest.approx(7 / 365)


def test_time_to_expiry_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        time_to_expiry(datetime(2026, 3, 10, 9, 15), date(2026, 3, 10))  # noqa: DTZ001


def test_the_composition_root_adds_the_users_holidays_file(tmp_path: Path) -> None:
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("date,description\n2026-03-17,An invented holiday\n", encoding="utf-8")
    expiries = stores.expiry_calendar(Settings(market={"holidays_file": holidays}))
    assert expiries.expiry_for("NIFTY", date(2026, 3, 16), ExpiryRule.CURRENT_WEEKLY).day == date(
        2026, 3, 16
    )


def test_min_days_left_rolls_the_other_rules_to_their_next_expiry() -> None:
    on = date(2026, 3, 9)  # a Monday; weeklies on 03-10, 03-17, 03-24, monthly 03-30
    weekly, monthly = ExpiryRule.CURRENT_WEEKLY, ExpiryRule.MONTHLY
    assert EXPIRIES.expiry_for("NIFTY", on, weekly, min_days_left=1).day == date(2026, 3, 10)
    assert EXPIRIES.expiry_for("NIFTY", on, weekly, min_days_left=2).day == date(2026, 3, 17)
    assert EXPIRIES.expiry_for("NIFTY", on, weekly, min_days_left=9).day == date(2026, 3, 24)
    assert EXPIRIES.expiry_for("NIFTY", on, monthly, min_days_left=21).day == date(2026, 3, 30)
    assert EXPIRIES.expiry_for("NIFTY", on, monthly, min_days_left=22).day == date(2026, 4, 28)
    with pytest.raises(ValueError, match="0 or more"):
        EXPIRIES.expiry_for("NIFTY", on, weekly, min_days_left=-1)
