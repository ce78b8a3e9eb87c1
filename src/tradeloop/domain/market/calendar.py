"""The NSE trading calendar: sessions, holidays and weekly index-option expiries.

A session runs 09:15–15:30 Asia/Kolkata, Monday to Friday, except exchange holidays. Minute bars
are labelled by their open time, so a day's bars run from 09:15 to 15:29 inclusive (375 bars).
Timestamps are tz-aware UTC everywhere; IST is UTC+05:30 all year (India has no DST), which is
what lets the vectorised checks below work on plain integers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from tradeloop.domain.market.session import CLOSE as SESSION_CLOSE
from tradeloop.domain.market.session import MINUTES as SESSION_MINUTES
from tradeloop.domain.market.session import OPEN as SESSION_OPEN
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.errors import ConfigError

IST = ZoneInfo("Asia/Kolkata")
IST_OFFSET = timedelta(hours=5, minutes=30)
_NS_PER_MINUTE = 60_000_000_000
_NS_PER_DAY = 86_400_000_000_000
_IST_OFFSET_NS = int(IST_OFFSET.total_seconds()) * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: open and close as tz-aware UTC datetimes."""

    day: date
    open: datetime
    close: datetime


def to_ist(ts: datetime) -> datetime:
    """Show a stored (UTC) timestamp in IST."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: tradeloop only handles tz-aware timestamps")
    return ts.astimezone(IST)


def ist_datetime(day: date, at: time) -> datetime:
    """The UTC instant of an IST wall-clock time on `day`."""
    return datetime.combine(day, at, tzinfo=IST).astimezone(UTC)


def load_holidays(path: Path) -> dict[date, str]:
    """Read a holiday CSV (`date,description`, `#` comments allowed); errors name the file line."""
    with path.open(encoding="utf-8", newline="") as handle:
        # Keep each line's number in the file: comments and blank lines are skipped, yet an error
        # must point at the line the user sees in an editor.
        numbered = [
            (number, line)
            for number, line in enumerate(handle, start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if not numbered:
        return {}
    header_line, header_text = numbered[0]
    header = [cell.strip().lower() for cell in next(csv.reader([header_text]))]
    if "date" not in header:
        raise ConfigError(
            f"{path}: line {header_line}: header {header_text.strip()!r} has no 'date' column: "
            "start the file with the line 'date,description'"
        )
    date_at = header.index("date")
    description_at = header.index("description") if "description" in header else None
    holidays: dict[date, str] = {}
    for number, line in numbered[1:]:
        cells = next(csv.reader([line]))
        raw = cells[date_at].strip() if date_at < len(cells) else ""
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise ConfigError(
                f"{path}: line {number}: date {raw!r} is not YYYY-MM-DD "
                "(expected lines such as '2026-03-03,Holi' under the header 'date,description')"
            ) from exc
        description = ""
        if description_at is not None and description_at < len(cells):
            description = cells[description_at].strip()
        holidays[day] = description
    return holidays


def bundled_holidays() -> dict[date, str]:
    source = resources.files("tradeloop.domain.market").joinpath("data/nse_holidays.csv")
    with resources.as_file(source) as path:
        return load_holidays(path)


class NSECalendar:
    """Trading days, sessions and expiries of the NSE. Immutable once built."""

    def __init__(self, holidays: Mapping[date, str]) -> None:
        self._holidays = dict(holidays)

    @classmethod
    def default(cls, extra_holidays_file: Path | None = None) -> NSECalendar:
        """The bundled holiday table, plus the user's file when given."""
        holidays = bundled_holidays()
        if extra_holidays_file is not None:
            if not extra_holidays_file.exists():
                raise ConfigError(
                    f"holidays file {extra_holidays_file} does not exist: "
                    "fix [market] holidays_file in tradeloop.toml"
                )
            holidays.update(load_holidays(extra_holidays_file))
        return cls(holidays)

    @property
    def holidays(self) -> Mapping[date, str]:
        return dict(self._holidays)

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days from `start` to `end`, both inclusive."""
        days = []
        current = start
        while current <= end:
            if self.is_trading_day(current):
                days.append(current)
            current += timedelta(days=1)
        return days

    def sessions(self, start: date, end: date) -> list[Session]:
        """Sessions from `start` to `end`, both inclusive."""
        return [
            Session(day, ist_datetime(day, SESSION_OPEN), ist_datetime(day, SESSION_CLOSE))
            for day in self.trading_days(start, end)
        ]

    def previous_trading_day(self, day: date) -> date:
        current = day - timedelta(days=1)
        while not self.is_trading_day(current):
            current -= timedelta(days=1)
        return current

    def next_trading_day(self, day: date) -> date:
        current = day + timedelta(days=1)
        while not self.is_trading_day(current):
            current += timedelta(days=1)
        return current

    def is_open(self, ts: datetime) -> bool:
        """True while the market is open: 09:15 <= IST time < 15:30 on a trading day."""
        local = to_ist(ts)
        return self.is_trading_day(local.date()) and SESSION_OPEN <= local.time() < SESSION_CLOSE

    def minute_bars(self, start: date, end: date, minutes: int = 1) -> np.ndarray:
        """Open times (UTC, `datetime64[us]`) of every `minutes`-minute bar in the sessions."""
        offsets = np.arange(0, SESSION_MINUTES, minutes, dtype=np.int64) * _NS_PER_MINUTE
        opens = np.array(
            [
                int(session.open.timestamp()) * 1_000_000_000
                for session in self.sessions(start, end)
            ],
            dtype=np.int64,
        )
        stamps = (opens[:, None] + offsets[None, :]).ravel()
        return stamps.astype("datetime64[ns]").astype("datetime64[us]")

    @cached_property
    def _holiday_days(self) -> np.ndarray:
        epoch = date(1970, 1, 1)
        return np.array(sorted((day - epoch).days for day in self._holidays), dtype=np.int64)

    def in_session_mask(self, timestamps: Iterable[np.datetime64] | np.ndarray) -> np.ndarray:
        """Vectorised `is_open` over UTC timestamps (`datetime64`, any unit)."""
        ns = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
        local = ns + _IST_OFFSET_NS
        days = np.floor_divide(local, _NS_PER_DAY)
        minute_of_day = np.floor_divide(local - days * _NS_PER_DAY, _NS_PER_MINUTE)
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
        in_hours = (minute_of_day >= OPEN_MINUTE) & (minute_of_day < OPEN_MINUTE + SESSION_MINUTES)
        trading_day = (weekday < 5) & ~np.isin(days, self._holiday_days)
        result: np.ndarray = in_hours & trading_day
        return result
