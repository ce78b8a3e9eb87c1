"""What Dhan's data APIs (charts, option chain) share: the SDK transport and the retrying send.

`DataApiClient` builds the SDK's `DhanContext` on the configured base URL and timeout, registers
the token with the process redactor, keeps the HTTP status, `Retry-After` and error body the SDK
drops (a response hook: `LastAnswer`), and sends one request until it is answered:

- refused credentials (DH-901, 807-810, HTTP 401) or no Data API subscription (DH-902, 806,
  HTTP 403) raise `ConfigError` naming the fix;
- Dhan's rate limit (HTTP 429, DH-904, 805) pauses the account's whole rate category and sends
  again; a transport failure or a server fault (5xx, DH-908..910, 800) sends again after a
  pause; both bounded by `RetryPolicy`, then `RateLimitedError` / `TransientError`. Reads change
  nothing at Dhan, so resending is safe (unlike an order, see `sdk`);
- any other refusal raises `DhanRequestError`.

Every send takes a slot of the account's `RateLimiter` in the client's category first.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from dhanhq import DhanContext
from pydantic import SecretStr

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
from tradeloop.errors import ConfigError, OperationalError, RateLimitedError, TransientError

log = logging.getLogger(__name__)

DATA_API_AUTH_CODES = frozenset({"807", "808", "809", "810"})
NO_SUBSCRIPTION_CODES = frozenset({"DH-902", "806"})
_BODY_LIMIT = 300


class DhanRequestError(OperationalError):
    """Dhan refused a data request for a reason that resending cannot fix."""


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


class DataApiClient:
    """One account's SDK transport for a data API, and the send that retries it."""

    def __init__(
        self,
        client_id: str,
        access_token: SecretStr,
        *,
        base_url: str,
        timeout: float,
        rate_limiter: RateLimiter,
        category: RateCategory,
        retry: RetryPolicy | None,
        sleep: Callable[[float], None] = time.sleep,
        name: str,
        exhausted_advice: str,
    ) -> None:
        """`name` labels the log lines ("dhan history"); `exhausted_advice` ends the message of
        the error raised when every attempt failed (with its own leading punctuation)."""
        token = access_token.get_secret_value()
        check_credentials(client_id, token)
        register_secret(access_token)
        if timeout <= 0:
            raise ConfigError(f"the Dhan timeout must be positive, got {timeout}")
        self.context = DhanContext(client_id.strip(), token)
        self.transport = self.context.get_dhan_http()
        self.transport.base_url = check_base_url(base_url)
        self.transport.timeout = timeout
        self._rate_limiter = rate_limiter
        self._category = category
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._name = name
        self._advice = exhausted_advice
        self._answer = LastAnswer()
        self.transport.session.hooks["response"].append(self._answer.observe)

    def check_uses_transport(self, sdk_part: Any, part_name: str) -> None:
        """Refuse an SDK part that does not send through this client's transport: the base URL
        override (and the response hook) would not apply to it."""
        if sdk_part.dhan_http is not self.transport:
            raise RuntimeError(
                f"dhanhq {part_name} does not use the context's DhanHTTP: the base URL override "
                "would not apply to it; check the installed dhanhq version"
            )

    def send(
        self,
        call: Callable[[], Any],
        what: str,
        *,
        no_data: Callable[[DhanFailure], bool] = lambda failure: False,
    ) -> tuple[Any, int]:
        """Dhan's data (None when `no_data` says the refusal means "nothing there"), and the
        sends it took; raises as the module docstring says."""
        retry = self._retry
        for attempt in range(1, retry.attempts + 1):
            refuse_if_http_debug_printing()
            self._rate_limiter.acquire(self._category, max_wait=MAX_SCHEDULE_WAIT_SECONDS)
            self._answer.forget()
            response = parse_response(call(), self._answer.status, self._answer.retry_after)
            failure = response.failure
            if failure is None:
                return response.data, attempt
            codes = data_api_codes(self._answer.body)
            if no_data(failure):
                return None, attempt
            refusal = refusal_error(failure, codes, what)
            if refusal is not None:
                raise refusal
            rate_limited = failure.is_rate_limit or bool(codes & RATE_LIMIT_CODES)
            if not rate_limited and not is_transient(failure):
                raise DhanRequestError(
                    f"Dhan refused the request for {what}: {describe(failure, codes)}"
                )
            if attempt == retry.attempts:
                error = RateLimitedError if rate_limited else TransientError
                raise error(
                    f"Dhan could not serve {what} after {attempt} attempts "
                    f"({describe(failure, codes)}){self._advice}"
                )
            pause = retry.pause(attempt, failure.retry_after if rate_limited else None)
            log.warning(
                "%s: %s failed (%s); attempt %d of %d in %.1f s",
                self._name,
                what,
                describe(failure, codes),
                attempt + 1,
                retry.attempts,
                pause,
            )
            if rate_limited:
                self._rate_limiter.pause(self._category, pause)
            else:
                self._sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")


def is_transient(failure: DhanFailure) -> bool:
    if failure.kind is FailureKind.TRANSPORT or failure.code in SERVER_FAULT_CODES:
        return True
    status = failure.http_status
    return failure.kind is FailureKind.UNCODED and (status is None or status >= 500)


def refusal_error(failure: DhanFailure, codes: frozenset[str], what: str) -> ConfigError | None:
    """The ConfigError for refused credentials or a missing Data API subscription, else None."""
    described = describe(failure, codes)
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


def describe(failure: DhanFailure, codes: frozenset[str]) -> str:
    text = failure.describe()
    if failure.kind is FailureKind.UNCODED:
        status = f"HTTP {failure.http_status}" if failure.http_status else "no HTTP status"
        text = f"{status}, " + (f"Data API code {', '.join(sorted(codes))}" if codes else text)
    return text


def data_api_codes(body: str | None) -> frozenset[str]:
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


class LastAnswer(threading.local):
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
