"""NSE index option expiries: which days an index's weekly and monthly options expire, and the
time left to an expiry.

The rule table (`data/option_expiry_rules.csv`, shipped beside this module) has one row per NSE
change of an index's expiry weekdays, in force from `effective_from` until the next row of the
same index; each row names its source (`docs/options.md` shows the table). An expiry day is
produced by the row in force *on that expiry day*:

* **monthly**: the last `monthly_weekday` of the month;
* **weekly**: `weekly_weekday` of every week, except the week (Monday to Sunday) of a monthly
  expiry, where the monthly contract is the week's contract (NSE lists no separate weekly
  then); an empty `weekly_weekday` means the index has no weekly options;
* **holidays**: an expiry that falls on a day the NSE calendar does not trade moves to the
  previous trading day.

An expiry settles at the 15:30 IST close of its day: a position in the "current weekly" on its
expiry morning must be squared off before that close (`time_to_expiry` is 0 from then on).

Expiries are answered only where both tables are known: from an index's first row, and within
the years the holiday table covers (from 1 January of its first holiday's year to 31 December
of its last's); a holiday the table does not know would silently move an expiry. Other days are
refused with a NotFoundError saying what to add.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Literal

from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.session import CLOSE as SESSION_CLOSE
from tradeloop.errors import DataValidationError, NotFoundError

RULES_RESOURCE = "option_expiry_rules.csv"
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")
SECONDS_PER_YEAR = 365.0 * 24 * 3600
_SEARCH_HORIZON = timedelta(days=100)  # beyond the next monthly expiry from any day

ExpiryKind = Literal["weekly", "monthly"]


@dataclass(frozen=True, slots=True, order=True)
class Expiry:
    """One expiry day of an index's options: `kind` is "monthly" for the month's last contract
    (which is also that week's contract), else "weekly"."""

    day: date
    kind: ExpiryKind


class ExpiryRule(StrEnum):
    """Which expiry to trade on a day (see `ExpiryCalendar.expiry_for`)."""

    CURRENT_WEEKLY = "current_weekly"
    NEXT_WEEKLY = "next_weekly"
    MONTHLY = "monthly"
    NEAREST_WITH_DAYS_LEFT = "nearest_with_days_left"


@dataclass(frozen=True, slots=True)
class ExpiryRuleRow:
    """One row of the rule table: weekdays 0 (Monday) to 4; `weekly_weekday` None when the
    index has no weekly options."""

    effective_from: date
    underlying: str
    weekly_weekday: int | None
    monthly_weekday: int
    source: str


def bundled_expiry_rules() -> tuple[ExpiryRuleRow, ...]:
    """The rule table shipped in the package (see `docs/options.md`)."""
    resource = resources.files("tradeloop.domain.options") / "data" / RULES_RESOURCE
    return parse_expiry_rules(resource.read_text(encoding="utf-8"), RULES_RESOURCE)


def parse_expiry_rules(text: str, name: str) -> tuple[ExpiryRuleRow, ...]:
    """The rows of a rule CSV (`effective_from,underlying,weekly_weekday,monthly_weekday,
    source`, weekdays as MON..FRI), or a DataValidationError naming the line that is wrong."""
    rows: list[ExpiryRuleRow] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            weekly = row["weekly_weekday"].strip().upper()
            rows.append(
                ExpiryRuleRow(
                    effective_from=date.fromisoformat(row["effective_from"]),
                    underlying=row["underlying"].strip().upper(),
                    weekly_weekday=WEEKDAYS.index(weekly) if weekly else None,
                    monthly_weekday=WEEKDAYS.index(row["monthly_weekday"].strip().upper()),
                    source=row["source"].strip(),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataValidationError(
                f"{name} line {line}: {exc}; each row needs effective_from (YYYY-MM-DD), "
                f"underlying, weekly_weekday (one of {', '.join(WEEKDAYS)} or empty), "
                "monthly_weekday and source"
            ) from None
    return tuple(sorted(rows, key=lambda r: (r.underlying, r.effective_from)))


def time_to_expiry(now_utc: datetime, expiry_day: date) -> float:
    """Years (365-day, calendar time, to the second) from `now_utc` to the 15:30 IST close of
    `expiry_day`; 0.0 at and after that close."""
    if now_utc.tzinfo is None:
        raise ValueError(f"naive datetime {now_utc!r}: pass a tz-aware (UTC) timestamp")
    close = ist_datetime(expiry_day, SESSION_CLOSE)
    seconds = (close - now_utc.astimezone(UTC)).total_seconds()
    return max(seconds, 0.0) / SECONDS_PER_YEAR


class ExpiryCalendar:
    """The expiry days of NSE index options, from the rule table and the NSE calendar."""

    def __init__(self, rules: Iterable[ExpiryRuleRow], calendar: NSECalendar) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: (r.underlying, r.effective_from)))
        self.calendar = calendar
        years = sorted({day.year for day in calendar.holidays})
        self._covered = (date(years[0], 1, 1), date(years[-1], 12, 31)) if years else None

    # -- the expiry list -----------------------------------------------------------------------

    def expiries(self, symbol: str, start: date, end: date) -> list[Expiry]:
        """Every expiry of `symbol` from `start` to `end`, both inclusive, in day order."""
        name, rows = self._rows(symbol)
        self._check_known(name, rows, start)
        self._check_known(name, rows, end)
        found: list[Expiry] = []
        for index, row in enumerate(rows):
            until = rows[index + 1].effective_from if index + 1 < len(rows) else date.max
            low, high = max(start, row.effective_from), min(end, until - timedelta(days=1))
            if low <= high:
                found.extend(self._of_row(row, low, high))
        return sorted(set(found))

    def _of_row(self, row: ExpiryRuleRow, low: date, high: date) -> list[Expiry]:
        """The expiries `row` produces whose (holiday-moved) day lies in [low, high]."""
        monthly_weeks: set[date] = set()
        found: list[Expiry] = []
        # A month's expiry can move back across `low` by a holiday: look one month around.
        month = date(low.year, low.month, 1) - timedelta(days=1)
        while month <= high + timedelta(days=31):
            nominal = _last_weekday(month.year, month.month, row.monthly_weekday)
            monthly_weeks.add(_monday(nominal))
            day = self._trading_on_or_before(nominal)
            if low <= day <= high:
                found.append(Expiry(day, "monthly"))
            month = date(month.year, month.month, 28) + timedelta(days=4)
        if row.weekly_weekday is not None:
            monday = _monday(low) - timedelta(days=7)
            while monday <= high + timedelta(days=7):
                if monday not in monthly_weeks:
                    day = self._trading_on_or_before(monday + timedelta(days=row.weekly_weekday))
                    if low <= day <= high:
                        found.append(Expiry(day, "weekly"))
                monday += timedelta(days=7)
        return found

    def _trading_on_or_before(self, day: date) -> date:
        cal = self.calendar
        return day if cal.is_trading_day(day) else cal.previous_trading_day(day)

    # -- choosing one --------------------------------------------------------------------------

    def expiry_for(
        self, symbol: str, on_day: date, rule: ExpiryRule, *, min_days_left: int = 0
    ) -> Expiry:
        """The expiry `rule` picks on `on_day` (an expiry day counts: on its morning the current
        weekly is today, and must be squared off before the 15:30 close):

        * CURRENT_WEEKLY: the nearest expiry on or after `on_day` of the weekly series (in the
          week of a monthly expiry, the monthly contract);
        * NEXT_WEEKLY: the one after it;
        * MONTHLY: this month's monthly expiry, or next month's once this month's has passed;
        * NEAREST_WITH_DAYS_LEFT: the nearest expiry (weekly or monthly) at least
          `min_days_left` calendar days after `on_day`.

        With `min_days_left` > 0 the other rules skip an expiry fewer calendar days away: the
        rule is applied again from the day after it (the current weekly becomes the next one).

        A weekly rule on an index or a day without weekly options is a NotFoundError.
        """
        rule = ExpiryRule(rule)
        if min_days_left < 0:
            raise ValueError(f"min_days_left {min_days_left} must be 0 or more")
        if rule is not ExpiryRule.NEAREST_WITH_DAYS_LEFT and min_days_left:
            chosen = self.expiry_for(symbol, on_day, rule)
            while (chosen.day - on_day).days < min_days_left:
                chosen = self.expiry_for(symbol, chosen.day + timedelta(days=1), rule)
            return chosen
        name, rows = self._rows(symbol)
        self._check_known(name, rows, on_day)
        ahead = self._ahead(name, rows, on_day)
        if rule is ExpiryRule.MONTHLY:
            return next(e for e in ahead if e.kind == "monthly")
        if rule is ExpiryRule.NEAREST_WITH_DAYS_LEFT:
            wanted = on_day + timedelta(days=min_days_left)
            for expiry in ahead:
                if expiry.day >= wanted:
                    return expiry
            raise NotFoundError(
                f"no {name} expiry is known {min_days_left} or more days after {on_day}: the "
                f"expiry calendar ends on {self._known_until()}; ask for fewer days left"
            )
        position = 0 if rule is ExpiryRule.CURRENT_WEEKLY else 1
        series = [_in_force(rows, e.day).weekly_weekday is not None for e in ahead]
        if len(ahead) <= position or not all(series[: position + 1]):
            raise NotFoundError(
                f"{name} has no {rule.value.replace('_', ' ')} expiry on {on_day}: "
                f"{self._weekly_story(name, rows, on_day)}; use ExpiryRule.MONTHLY or "
                "NEAREST_WITH_DAYS_LEFT"
            )
        return ahead[position]

    def _ahead(self, name: str, rows: tuple[ExpiryRuleRow, ...], on_day: date) -> list[Expiry]:
        """The known expiries from `on_day` over the search horizon (at least one monthly)."""
        last = self._known_until()
        end = min(on_day + _SEARCH_HORIZON, last)
        ahead = self.expiries(name, on_day, end)
        if not any(e.kind == "monthly" for e in ahead):
            raise NotFoundError(
                f"no {name} monthly expiry is known on or after {on_day}: the holiday table "
                f"ends on {last}; add the next year's NSE holidays to the file named by "
                "[market] holidays_file in tradeloop.toml"
            )
        return ahead

    def _weekly_story(self, name: str, rows: tuple[ExpiryRuleRow, ...], on_day: date) -> str:
        since: date | None = None  # the first row of the stretch without weeklies up to on_day
        for row in rows:
            if row.effective_from > on_day:
                break
            since = (since or row.effective_from) if row.weekly_weekday is None else None
        if since is not None:
            return f"its weekly options were discontinued from {since}"
        return "its weekly options end before that expiry"

    # -- what is known -------------------------------------------------------------------------

    def _rows(self, symbol: str) -> tuple[str, tuple[ExpiryRuleRow, ...]]:
        name = symbol.strip().upper()
        rows = tuple(r for r in self.rules if r.underlying == name)
        if not rows:
            known = sorted({r.underlying for r in self.rules})
            raise NotFoundError(
                f"no option expiry rules for {symbol!r}: the rule table knows "
                f"{', '.join(known) or 'no index'}"
            )
        return name, rows

    def _known_until(self) -> date:
        assert self._covered is not None  # checked by _check_known before any search
        return self._covered[1]

    def _check_known(self, name: str, rows: tuple[ExpiryRuleRow, ...], day: date) -> None:
        first = rows[0].effective_from
        if day < first:
            raise NotFoundError(
                f"no {name} option expiries are known for {day}: the expiry rule table starts "
                f"on {first} for {name} (option_expiry_rules.csv); choose a later day, or "
                "give the contract's expiry yourself"
            )
        if self._covered is None or not self._covered[0] <= day <= self._covered[1]:
            span = f"{self._covered[0]} to {self._covered[1]}" if self._covered else "no year"
            raise NotFoundError(
                f"{name} option expiries for {day} are not known: the NSE holiday table covers "
                f"{span}, and an expiry on an unknown holiday would move; add that year's NSE "
                "holidays to the file named by [market] holidays_file in tradeloop.toml"
            )


def _in_force(rows: tuple[ExpiryRuleRow, ...], day: date) -> ExpiryRuleRow:
    return [r for r in rows if r.effective_from <= day][-1]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _last_weekday(year: int, month: int, weekday: int) -> date:
    """The last `weekday` (0 = Monday) of the month."""
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)
