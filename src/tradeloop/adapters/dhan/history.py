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

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl
import requests
from dhanhq import DhanContext, HistoricalData
from pydantic import SecretStr

from tradeloop.adapters.dhan.charts import candle_frame
from tradeloop.adapters.dhan.envelope import (
    AUTH_CODES,
    RATE_LIMIT_CODES,
    SERVER_FAULT_CODES,
    DhanFailure,
    FailureKind,
    parse_response,
)
from tradeloop.adapters.dhan.sdk import (
    MAX_SCHEDULE_WAIT_SECONDS,
    check_base_url,
    check_credentials,
    refuse_if_http_debug_printing,
)
from tradeloop.adapters.ratelimit import RateCategory, RateLimiter
from tradeloop.adapters.redaction import redact, register_secret
from tradeloop.domain.market.candles import empty_candles
from tradeloop.domain.market.fetch_plan import FetchWindow
from tradeloop.errors import ConfigError, OperationalError, RateLimitedError, TransientError

log = logging.getLogger(__name__)

SEGMENT = "IDX_I"
INSTRUMENT = "INDEX"
DHAN_INTERVALS: Mapping[str, int | None] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": None}
"""tradeloop interval → Dhan's intraday `interval` (None: the daily API)."""
INTRADAY_MAX_DAYS = 90
"""Calendar days one intraday request may span (Dhan's historical-data docs)."""
HISTORY_TIMEOUT_SECONDS = 30.0
"""Seconds to wait for one answer: 90 days of minute candles is a large body."""
NO_DATA_CODE = "DH-905"
DATA_API_AUTH_CODES = frozenset({"807", "808", "809", "810"})
NO_SUBSCRIPTION_CODES = frozenset({"DH-902", "806"})
_BODY_LIMIT = 300


class DhanRequestError(OperationalError):
    """Dhan refused a history request for a reason that resending cannot fix."""


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
class RetryPolicy:
    """Sends of one data request while the answer is transient, and the pauses between them."""

    attempts: int = 4
    pauses: tuple[float, ...] = (1.0, 2.0, 4.0)
    """The pause after the n-th failed send (the last one repeats); a longer `Retry-After` on
    a 429 wins, up to `max_pause`."""
    max_pause: float = 30.0

    def pause(self, attempt: int, retry_after: float | None) -> float:
        base = self.pauses[min(attempt - 1, len(self.pauses) - 1)] if self.pauses else 0.0
        return min(max(base, retry_after or 0.0), self.max_pause)


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
        token = access_token.get_secret_value()
        check_credentials(client_id, token)
        register_secret(access_token)
        if timeout <= 0:
            raise ConfigError(f"the Dhan timeout must be positive, got {timeout}")
        context = DhanContext(client_id.strip(), token)
        transport = context.get_dhan_http()
        transport.base_url = check_base_url(base_url)
        transport.timeout = timeout
        self._charts = HistoricalData(context)
        if self._charts.dhan_http is not transport:
            raise RuntimeError(
                "dhanhq HistoricalData does not use the context's DhanHTTP: the base URL "
                "override would not apply to it; check the installed dhanhq version"
            )
        self._transport = transport
        self._rate_limiter = rate_limiter
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._answer = _LastAnswer()
        transport.session.hooks["response"].append(self._answer.observe)

    def __repr__(self) -> str:
        return f"DhanHistory(base_url={self._transport.base_url!r})"

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
        data, attempts = self._send(call, what)
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

    def _send(self, call: Callable[[], Any], what: str) -> tuple[Any, int]:
        """Dhan's data (None: no data), and the sends it took; raises as the docstring says."""
        retry = self._retry
        for attempt in range(1, retry.attempts + 1):
            refuse_if_http_debug_printing()
            self._rate_limiter.acquire(RateCategory.DATA, max_wait=MAX_SCHEDULE_WAIT_SECONDS)
            self._answer.forget()
            response = parse_response(call(), self._answer.status, self._answer.retry_after)
            failure = response.failure
            if failure is None:
                return response.data, attempt
            codes = _data_api_codes(self._answer.body)
            if _is_no_data(failure):
                return None, attempt
            refusal = _refusal(failure, codes, what)
            if refusal is not None:
                raise refusal
            rate_limited = failure.is_rate_limit or bool(codes & RATE_LIMIT_CODES)
            if not rate_limited and not _is_transient(failure):
                raise DhanRequestError(
                    f"Dhan refused the request for {what}: {_describe(failure, codes)}"
                )
            if attempt == retry.attempts:
                error = RateLimitedError if rate_limited else TransientError
                raise error(
                    f"Dhan could not serve {what} after {attempt} attempts "
                    f"({_describe(failure, codes)}); nothing of this window was stored: run the "
                    "same fetch again later, it asks only for what is still missing"
                )
            pause = retry.pause(attempt, failure.retry_after if rate_limited else None)
            log.warning(
                "dhan history: %s failed (%s); attempt %d of %d in %.1f s",
                what,
                _describe(failure, codes),
                attempt + 1,
                retry.attempts,
                pause,
            )
            if rate_limited:
                self._rate_limiter.pause(RateCategory.DATA, pause)
            else:
                self._sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _is_no_data(failure: DhanFailure) -> bool:
    return failure.code == NO_DATA_CODE and "no data" in failure.detail.lower()


def _is_transient(failure: DhanFailure) -> bool:
    if failure.kind is FailureKind.TRANSPORT or failure.code in SERVER_FAULT_CODES:
        return True
    status = failure.http_status
    return failure.kind is FailureKind.UNCODED and (status is None or status >= 500)


def _refusal(failure: DhanFailure, codes: frozenset[str], what: str) -> ConfigError | None:
    """The ConfigError for refused credentials or a missing Data API subscription, else None."""
    described = _describe(failure, codes)
    if (
        failure.code in NO_SUBSCRIPTION_CODES
        or codes & NO_SUBSCRIPTION_CODES
        or (failure.kind is FailureKind.UNCODED and failure.http_status == 403)
    ):
        return ConfigError(
            f"Dhan refused the request for {what} ({described}): the account has no access to "
            "Dhan's Data APIs. Subscribe to Data APIs on web.dhan.co (My Profile > DhanHQ "
            "Trading APIs), then set TRADELOOP_DHAN_ACCESS_TOKEN to a token generated after "
            "that"
        )
    if (
        failure.code in AUTH_CODES
        or codes & DATA_API_AUTH_CODES
        or (failure.kind is FailureKind.UNCODED and failure.http_status == 401)
    ):
        return ConfigError(
            f"Dhan refused the credentials for {what} ({described}). Access tokens expire after "
            "24 hours: generate a new one on web.dhan.co and set TRADELOOP_DHAN_ACCESS_TOKEN "
            "(and check TRADELOOP_DHAN_CLIENT_ID)"
        )
    return None


def _describe(failure: DhanFailure, codes: frozenset[str]) -> str:
    text = failure.describe()
    if failure.kind is FailureKind.UNCODED:
        status = f"HTTP {failure.http_status}" if failure.http_status else "no HTTP status"
        text = f"{status}, " + (f"Data API code {', '.join(sorted(codes))}" if codes else text)
    return text


def _data_api_codes(body: str | None) -> frozenset[str]:
    """The codes of a Data API error body (`{"data": {"806": "..."}, "status": "failed"}`)."""
    if not body:
        return frozenset()
    try:
        parsed = json.loads(body)
    except ValueError:
        return frozenset()
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict):
        return frozenset()
    return frozenset(str(key) for key in data if str(key).isdigit())


class _LastAnswer(threading.local):
    """This thread's last HTTP status, `Retry-After` and error body (the SDK drops them)."""

    status: int | None = None
    retry_after: float | None = None
    body: str | None = None

    def forget(self) -> None:
        self.status = self.retry_after = self.body = None

    def observe(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self.status = response.status_code
        header = response.headers.get("Retry-After")
        try:
            seconds = float(header) if header is not None else None
        except ValueError:
            seconds = None
        self.retry_after = seconds if seconds is not None and 0 <= seconds < 1e9 else None
        if response.status_code >= 400:
            self.body = redact(response.text[:_BODY_LIMIT])
