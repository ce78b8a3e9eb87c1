"""Index candles from Dhan's v2 chart APIs, through the dhanhq SDK's `HistoricalData`.

`DhanHistory.candles(symbol, security_id, interval, window)` asks for one `FetchWindow` of an index
(segment IDX_I, instrument INDEX) and returns the candle frame (`charts.candle_frame`), not yet
validated (the candle store validates on write):

- daily (`1d`): `POST /charts/historical` with `fromDate` = the first day and `toDate` = the day
  after the last (Dhan's `toDate` is exclusive). Dhan stamps a daily candle at midnight IST; it
  is stored at its session's open (09:15 IST), as every daily bar in tradeloop is.
- intraday (`1m`, `5m`, `15m`, `1h`, which Dhan calls 1, 5, 15 and 60): `POST /charts/intraday`
  with `fromDate` "YYYY-MM-DD 09:15:00" and `toDate` "YYYY-MM-DD 15:30:00" (IST), at most
  `INTRADAY_MAX_DAYS` calendar days per request ("only 90 days of data can be polled at once",
  Dhan's historical-data docs). Dhan's 25-minute candles have no tradeloop interval, and
  tradeloop's 30m has no Dhan interval (fetch 15m or 1m and resample).

Rows outside the window's days are dropped (for the current day Dhan sends every bar so far,
whatever `toDate` says).

How answers come out (the SDK never raises; it returns `{'status': 'failure'}` for any
exception and drops the HTTP status, so a response hook keeps the status, `Retry-After` and an
error body's text):

- an answer without data (empty arrays, an empty object, or DH-905 "... no data present") is an
  empty frame: a holiday or a day Dhan has nothing for is not an error;
- refused credentials (DH-901, 807-810, HTTP 401) or no Data API subscription (DH-902, 806,
  HTTP 403) raise `ConfigError` naming the fix;
- Dhan's rate limit (HTTP 429, DH-904, 805) pauses every data call of the account and sends again;
  a transport failure (timeout, dropped connection, unreadable body) or a server fault (5xx,
  DH-908..910, 800) sends again after a pause; both bounded by `RetryPolicy`, then
  `RateLimitedError` / `TransientError`. Reads change nothing at Dhan, so resending is safe
  (unlike an order, see `sdk`);
- a 200 answer whose arrays are missing, of unequal lengths or not numbers raises
  `charts.DhanPayloadError` naming the field; any other refusal raises `DhanRequestError`.

Every call takes a slot of the account's `RateLimiter` (category DATA, 5 per second) first. The
access token is registered with the process redactor before anything is sent; every message
built here comes from redacted text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl
from dhanhq import HistoricalData
from pydantic import SecretStr

from tradeloop.adapters.dhan.charts import candle_frame
from tradeloop.adapters.dhan.data_api import DataApiClient, DhanRequestError, RetryPolicy
from tradeloop.adapters.dhan.envelope import DhanFailure
from tradeloop.adapters.ratelimit import RateCategory, RateLimiter
from tradeloop.domain.market.candles import empty_candles
from tradeloop.domain.market.fetch_plan import FetchWindow
from tradeloop.errors import ConfigError

__all__ = ["DhanHistory", "DhanRequestError", "RetryPolicy", "WindowCandles"]


SEGMENT = "IDX_I"
INSTRUMENT = "INDEX"
DHAN_INTERVALS: Mapping[str, int | None] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": None}
"""tradeloop interval → Dhan's intraday `interval` (None: the daily API)."""
INTRADAY_MAX_DAYS = 90
"""Calendar days one intraday request may span (Dhan's historical-data docs)."""
HISTORY_TIMEOUT_SECONDS = 30.0
"""Seconds to wait for one answer: 90 days of minute candles is a large body."""
NO_DATA_CODE = "DH-905"


def dhan_interval(interval: str) -> int | None:
    """Dhan's intraday interval for a tradeloop interval (None: daily); ConfigError otherwise."""
    if interval not in DHAN_INTERVALS:
        raise ConfigError(
            f"interval {interval!r} cannot be fetched from Dhan: use one of "
            f"{', '.join(DHAN_INTERVALS)} (Dhan serves 1, 5, 15, 25 and 60 minute and daily "
            "candles; for 30m fetch 15m or 1m and resample)"
        )
    return DHAN_INTERVALS[interval]


def max_window_days(interval: str) -> int | None:
    """The most calendar days one request for `interval` may span (None: no documented cap)."""
    return None if dhan_interval(interval) is None else INTRADAY_MAX_DAYS


@dataclass(frozen=True, slots=True)
class WindowCandles:
    """What Dhan answered for one window."""

    frame: pl.DataFrame
    no_data: bool
    """Dhan said it has no data for the window (a holiday, a day before listing)."""
    attempts: int
    """Requests sent for this window (1 unless a transient failure was retried)."""


class DhanHistory:
    """Candles of the indices in `domain.market.instruments` from Dhan's chart APIs."""

    def __init__(
        self,
        client_id: str,
        access_token: SecretStr,
        *,
        base_url: str,
        timeout: float,
        rate_limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`rate_limiter` must be the account's one limiter (the broker's, in production)."""
        self._client = DataApiClient(
            client_id,
            access_token,
            base_url=base_url,
            timeout=timeout,
            rate_limiter=rate_limiter,
            category=RateCategory.DATA,
            retry=retry,
            sleep=sleep,
            name="dhan history",
            exhausted_advice=(
                "; nothing of this window was stored: run the same fetch again later, it asks "
                "only for what is still missing"
            ),
        )
        self._charts = HistoricalData(self._client.context)
        self._client.check_uses_transport(self._charts, "HistoricalData")

    def __repr__(self) -> str:
        return f"DhanHistory(base_url={self._client.transport.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            "DhanHistory holds a live access token and cannot be pickled: build it where it is "
            "used (tradeloop.app.history.dhan_history)"
        )

    def candles(
        self, symbol: str, security_id: str, interval: str, window: FetchWindow
    ) -> WindowCandles:
        """The candles of one window (see the module docstring for what raises)."""
        minutes = dhan_interval(interval)
        what = f"{symbol} {interval} candles from {window.first_day} to {window.last_day}"
        if minutes is None:
            call = self._daily_call(security_id, window)
        else:
            call = self._intraday_call(security_id, window, minutes)
        data, attempts = self._client.send(call, what, no_data=_is_no_data)
        if data is None:
            return WindowCandles(empty_candles(), True, attempts)
        frame = candle_frame(data, symbol, interval, window, daily=minutes is None, what=what)
        return WindowCandles(frame, frame.is_empty(), attempts)

    def _daily_call(self, security_id: str, window: FetchWindow) -> Callable[[], Any]:
        def call() -> Any:
            return self._charts.historical_daily_data(
                security_id,
                SEGMENT,
                INSTRUMENT,
                window.first_day.isoformat(),
                (window.last_day + timedelta(days=1)).isoformat(),  # exclusive
                expiry_code=0,
            )

        return call

    def _intraday_call(
        self, security_id: str, window: FetchWindow, minutes: int
    ) -> Callable[[], Any]:
        def call() -> Any:
            return self._charts.intraday_minute_data(
                security_id,
                SEGMENT,
                INSTRUMENT,
                f"{window.first_day.isoformat()} 09:15:00",
                f"{window.last_day.isoformat()} 15:30:00",
                interval=minutes,
            )

        return call


def _is_no_data(failure: DhanFailure) -> bool:
    return failure.code == NO_DATA_CODE and "no data" in failure.detail.lower()
