"""A loopback server for Dhan's v2 chart APIs: the real dhanhq SDK fetches candles from it.

    POST /charts/historical   daily candles, `fromDate` to `toDate` (exclusive), each stamped
                              at midnight IST as Dhan does
    POST /charts/intraday     1, 5, 15, 25 or 60 minute candles with open times from `fromDate`
                              ("YYYY-MM-DD HH:MM:SS", IST) up to before `toDate`; a request
                              spanning more than 90 calendar days is refused (DH-905)

Answers are Dhan's arrays (`open`, `high`, `low`, `close`, `volume`, `timestamp` in epoch
seconds) of deterministic synthetic candles on the NSE calendar. `no_data_days` are sessions it
has nothing for; a window without candles gets empty arrays, or (`no_data_style="dh905"`)
Dhan's DH-905 "... no data present" refusal.

It counts every request server-side when it arrives (`arrivals`, monotonic seconds;
`busiest_second()`), before anything else. `fail_after(n, mode)` makes every request from the
n-th on (counted from 0) fail with HTTP 500, HTTP 429 (Dhan's DH-904 body) or a dropped
connection (`drop`: closed without an answer), `times` times or until `heal()`. A wrong
`access-token` gets Dhan's 401 DH-901; `data_subscribed=False` gets HTTP 403 with a Data API
error body (code 806) or, with `subscription_refusal="DH-902"`, Dhan's DH-902 error body.
`mangle_next(fn)` passes the next answer's arrays through `fn`. `jump_from(moment, factor)`
multiplies the prices of every bar opening at or after `moment` by `factor`, in every answer
from then on: the series jumps there (by 50% with a factor of 1.5) and stays jumped, as a
vendor's bad stretch would on every request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from tradeloop.domain.market.calendar import IST, NSECalendar

from .dhan_http import DhanRequestHandler, RecordedRequest, ThreadedLoopback
from .dhan_payloads import error_body, json_bytes
from .dhan_server import DH_904, busiest_window

DROP = -1
"""A status that makes the handler close the connection without answering."""
INTRADAY_INTERVALS = (1, 5, 15, 25, 60)
MAX_INTRADAY_DAYS = 90
SESSION_MINUTES = 375
LEVELS = {"13": 24_000.0, "25": 51_000.0}
NO_DATA = error_body(
    "Input_Exception",
    "DH-905",
    "System is unable to fetch data due to incorrect parameters or no data present",
)
BAD_INPUT = error_body(
    "Input_Exception", "DH-905", "Missing required fields, bad values for parameters etc."
)
NOT_SUBSCRIBED = {
    "806": json_bytes({"status": "failed", "data": {"806": "Data APIs not subscribed"}}),
    "DH-902": error_body(
        "Invalid_Access",
        "DH-902",
        "User has not subscribed to Data APIs or does not have access to Trading APIs.",
    ),
}
"""The refusal's two shapes: a Data API error body, or the trading APIs' error body."""
FailureMode = Literal["500", "429", "drop"]


@dataclass
class _Failure:
    after: int
    mode: FailureMode
    remaining: int | None


@dataclass(frozen=True)
class ChartRequest:
    """One answered chart request, as the server read it."""

    path: str
    security_id: str
    interval: int | None
    from_text: str
    to_text: str


class _ChartsHandler(DhanRequestHandler):
    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        if status == DROP:
            self.close_connection = True  # no status line: the client sees the connection drop
            return
        super()._send(status, payload, headers)


class DhanChartsServer(ThreadedLoopback):
    """The fake chart APIs: start it, point `DhanHistory` at `base_url`, script it, count."""

    handler = _ChartsHandler
    thread_name = "dhan-charts"

    def __init__(
        self,
        *,
        access_token: str,
        client_id: str,
        calendar: NSECalendar | None = None,
        data_subscribed: bool = True,
        no_data_days: Iterable[date] = (),
        no_data_style: Literal["empty", "dh905"] = "empty",
        subscription_refusal: Literal["806", "DH-902"] = "806",
    ) -> None:
        self.access_token = access_token
        self.client_id = client_id
        self.calendar = calendar or NSECalendar.default()
        self.data_subscribed = data_subscribed
        self.no_data_days = set(no_data_days)
        self.no_data_style = no_data_style
        self.subscription_refusal = subscription_refusal
        self._arrivals: list[float] = []
        self._requests: list[RecordedRequest] = []
        self._answered: list[ChartRequest] = []
        self._failure: _Failure | None = None
        self._mangle: Callable[[dict[str, list[float]]], Any] | None = None
        self._jump: tuple[int, float] | None = None
        self._lock = threading.Lock()

    # --- scripting and inspection -------------------------------------------------------------

    def fail_after(self, count: int, mode: FailureMode, *, times: int | None = None) -> None:
        """Requests from the `count`-th on (from 0, every request so far counted) fail."""
        with self._lock:
            self._failure = _Failure(count, mode, times)

    def heal(self) -> None:
        with self._lock:
            self._failure = None

    def mangle_next(self, change: Callable[[dict[str, list[float]]], Any]) -> None:
        with self._lock:
            self._mangle = change

    def jump_from(self, moment: datetime, factor: float) -> None:
        """Every bar opening at or after `moment` has its prices multiplied by `factor`."""
        with self._lock:
            self._jump = (int(moment.timestamp()), factor)

    @property
    def arrivals(self) -> list[float]:
        with self._lock:
            return list(self._arrivals)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def answered(self) -> list[ChartRequest]:
        """Requests answered with candles (or an empty answer), in order."""
        with self._lock:
            return list(self._answered)

    def busiest_second(self) -> int:
        return busiest_window(self.arrivals, 1.0)

    # --- the ServesDhan protocol of the shared handler ----------------------------------------

    def arrive(self, request: RecordedRequest) -> tuple[int, bytes] | None:
        with self._lock:
            sequence = len(self._arrivals)
            self._arrivals.append(time.monotonic())
            failure = self._failure
            if failure is None or sequence < failure.after:
                return None
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failure = None
            self._requests.append(request)
        if failure.mode == "429":
            return 429, DH_904
        if failure.mode == "drop":
            return DROP, b""
        return 500, error_body("Internal_Server_Error", "DH-908", "Internal server error")

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def handle(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        if method != "POST" or path not in ("/charts/historical", "/charts/intraday"):
            return 404, json_bytes({"status": 404, "error": "Not Found", "path": path})
        if not self.data_subscribed:
            return 403, NOT_SUBSCRIBED[self.subscription_refusal]
        try:
            request, bars = self._bars(path, body)
        except (KeyError, TypeError, ValueError):
            return 400, BAD_INPUT
        with self._lock:
            self._answered.append(request)
            mangle, self._mangle = self._mangle, None
            jump = self._jump
        if not bars["timestamp"] and self.no_data_style == "dh905":
            return 400, NO_DATA
        if jump is not None:
            bars = _jumped(bars, *jump)
        return 200, json_bytes(mangle(bars) if mangle is not None else bars)

    # --- candles ------------------------------------------------------------------------------

    def _bars(self, path: str, body: Any) -> tuple[ChartRequest, dict[str, list[float]]]:
        if body["dhanClientId"] != self.client_id:
            raise ValueError("client id")
        if body["exchangeSegment"] != "IDX_I" or body["instrument"] != "INDEX":
            raise ValueError("segment")
        security_id = str(body["securityId"])
        level = LEVELS[security_id]
        if path == "/charts/historical":
            first, end = date.fromisoformat(body["fromDate"]), date.fromisoformat(body["toDate"])
            request = ChartRequest(path, security_id, None, body["fromDate"], body["toDate"])
            return request, _daily(self._days(first, end - timedelta(days=1)), level)
        interval = int(body["interval"])
        if interval not in INTRADAY_INTERVALS:
            raise ValueError("interval")
        start = _ist(body["fromDate"])
        end = _ist(body["toDate"])
        if end < start or (end.date() - start.date()).days + 1 > MAX_INTRADAY_DAYS:
            raise ValueError("span")
        request = ChartRequest(path, security_id, interval, body["fromDate"], body["toDate"])
        return request, _intraday(self._days(start.date(), end.date()), interval, level, start, end)

    def _days(self, first: date, last: date) -> list[date]:
        return [d for d in self.calendar.trading_days(first, last) if d not in self.no_data_days]


def _ist(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def price(level: float, minute: int) -> float:
    """The synthetic index level at a minute since the epoch."""
    return round(level + 0.01 * level * math.sin(minute / 5000) + 15 * math.sin(minute / 37), 2)


def _intraday(
    days: list[date], interval: int, level: float, start: datetime, end: datetime
) -> dict[str, list[float]]:
    bars: dict[str, list[float]] = {key: [] for key in _KEYS}
    for day in days:
        session_open = datetime(day.year, day.month, day.day, 9, 15, tzinfo=IST)
        for offset in range(0, SESSION_MINUTES, interval):
            opened = session_open + timedelta(minutes=offset)
            if not start <= opened < end:
                continue
            minute = int(opened.timestamp()) // 60
            length = min(interval, SESSION_MINUTES - offset)
            _append(
                bars, int(opened.timestamp()), price(level, minute), price(level, minute + length)
            )
    return bars


def _daily(days: list[date], level: float) -> dict[str, list[float]]:
    bars: dict[str, list[float]] = {key: [] for key in _KEYS}
    for day in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=IST)
        minute = int(midnight.astimezone(UTC).timestamp()) // 60 + 555
        _append(bars, int(midnight.timestamp()), price(level, minute), price(level, minute + 375))
    return bars


_KEYS = ("open", "high", "low", "close", "volume", "timestamp")
_PRICES = ("open", "high", "low", "close")


def _jumped(bars: dict[str, list[float]], stamp: int, factor: float) -> dict[str, list[float]]:
    after = [moment >= stamp for moment in bars["timestamp"]]
    return {
        key: [
            round(v * factor, 2) if key in _PRICES and late else v
            for v, late in zip(values, after, strict=True)
        ]
        for key, values in bars.items()
    }


def _append(bars: dict[str, list[float]], stamp: int, first: float, last: float) -> None:
    bars["open"].append(first)
    bars["close"].append(last)
    bars["high"].append(round(max(first, last) + 1.5, 2))
    bars["low"].append(round(min(first, last) - 1.5, 2))
    bars["volume"].append(0)
    bars["timestamp"].append(stamp)
