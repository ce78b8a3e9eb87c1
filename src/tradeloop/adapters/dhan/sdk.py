"""The dhanhq SDK objects, wired so that every HTTP call goes where we say, at the pace Dhan allows.

Only `DhanHTTP` instances honour a changed `base_url`; the SDK's API classes (`Order`,
`SuperOrder`, `Portfolio`, `Funds`, `Statement`) each keep the `DhanHTTP` of the `DhanContext`
they were built with and call nothing else. So one context is built, its `DhanHTTP` gets our
base URL and timeout, every API object is built from that context, and the constructor checks
that they all share that one `DhanHTTP`. The SDK's order-update WebSocket (`OrderUpdate`)
prints the access token, and the `DhanLogin` helpers call Dhan's auth host directly: neither is
used.

Every call is counted by the account's rate limiter the moment before it is sent, and refuses
to run while `http.client` debug printing is on (it would print the `access-token` header to
stdout, beyond the reach of any logging filter).

The SDK drops the HTTP status code, so a response hook on its `requests` session keeps the
status and `Retry-After` of the last answer on this thread, and the envelope is classified with
them. A rate-limit refusal (HTTP 429, with Dhan's DH-904 body or without) means Dhan did
nothing: the same call is sent again after every caller of the account was paused (1, 2, 4 and
8 s, or a longer `Retry-After` up to 30 s), up to `RATE_LIMIT_ATTEMPTS` sends in all. That holds
for creates too: the same payload goes out with the same correlation id, and the order did not
exist before. Any other failure is returned as it is, never re-sent here.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.connection
from dhanhq import DhanContext, Funds, Order, Portfolio, Statement, SuperOrder

from tradeloop.adapters.dhan.envelope import DhanResponse, parse_response
from tradeloop.adapters.dhan.order_requests import PlainOrderRequest, SuperOrderRequest
from tradeloop.adapters.ratelimit import RateCategory, RateLimiter
from tradeloop.errors import ConfigError, NotSentError

log = logging.getLogger(__name__)

RATE_LIMIT_ATTEMPTS = 5
"""Sends of one call while Dhan keeps refusing it for its rate limit (HTTP 429 / DH-904)."""
_BACK_OFF_SECONDS = (1.0, 2.0, 4.0, 8.0)
"""The pause after the n-th refusal when Dhan sends no `Retry-After`."""
MAX_PAUSE_SECONDS = 30.0
"""The longest pause a `Retry-After` can ask for."""
MAX_SCHEDULE_WAIT_SECONDS = 60.0
"""The longest a call waits for the limiter; beyond it (an hourly or daily limit used up) the
limiter raises `RateLimitedError` and nothing is sent."""

# The `legName` of a plain order modification; Dhan's enum is ENTRY_LEG, STOP_LOSS_LEG,
# TARGET_LEG and NA.
_PLAIN_ORDER_LEG = "NA"


class DhanSdk:
    """Thin, typed calls into the dhanhq SDK; each returns the classified `DhanResponse`."""

    def __init__(
        self,
        client_id: str,
        access_token: str,
        *,
        base_url: str,
        timeout: float,
        rate_limiter: RateLimiter,
    ) -> None:
        context = DhanContext(client_id, access_token)
        transport = context.get_dhan_http()
        transport.base_url = base_url
        transport.timeout = timeout
        self._orders = Order(context)
        self._super_orders = SuperOrder(context)
        self._portfolio = Portfolio(context)
        self._funds = Funds(context)
        self._statement = Statement(context)
        apis = (self._orders, self._super_orders, self._portfolio, self._funds, self._statement)
        for api in apis:
            if api.dhan_http is not transport:
                raise RuntimeError(
                    f"dhanhq {type(api).__name__} does not use the context's DhanHTTP: the base "
                    "URL override would not apply to it; check the installed dhanhq version"
                )
        self._transport = transport
        self._rate_limiter = rate_limiter
        self._answer = _LastAnswer()
        transport.session.hooks["response"].append(self._answer.observe)

    @property
    def base_url(self) -> str:
        return str(self._transport.base_url)

    @property
    def timeout(self) -> float:
        return float(self._transport.timeout)

    # Writes: the ORDERS bucket.
    def place_order(self, request: PlainOrderRequest) -> DhanResponse:
        return self._call(RateCategory.ORDERS, self._orders.place_order, **request.sdk_arguments())

    def place_super_order(self, request: SuperOrderRequest) -> DhanResponse:
        return self._call(
            RateCategory.ORDERS, self._super_orders.place_super_order, **request.sdk_arguments()
        )

    def modify_order(
        self,
        order_id: str,
        *,
        order_type: str,
        quantity: int,
        price: float,
        trigger_price: float,
        disclosed_quantity: int,
        validity: str,
    ) -> DhanResponse:
        return self._call(
            RateCategory.ORDERS,
            self._orders.modify_order,
            order_id=order_id,
            order_type=order_type,
            leg_name=_PLAIN_ORDER_LEG,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            disclosed_quantity=disclosed_quantity,
            validity=validity,
        )

    def modify_super_stop(
        self, order_id: str, *, stop_loss_price: float, trailing_jump: float
    ) -> DhanResponse:
        # The STOP_LOSS_LEG payload carries only the stop and the trailing jump; order_type is
        # required by the SDK's signature but not sent.
        return self._call(
            RateCategory.ORDERS,
            self._super_orders.modify_super_order,
            order_id=order_id,
            order_type="LIMIT",
            leg_name="STOP_LOSS_LEG",
            stopLossPrice=stop_loss_price,
            trailingJump=trailing_jump,
        )

    def cancel_order(self, order_id: str) -> DhanResponse:
        return self._call(RateCategory.ORDERS, self._orders.cancel_order, order_id)

    def cancel_super_order(self, order_id: str) -> DhanResponse:
        # Cancelling the entry leg cancels every leg still pending.
        return self._call(
            RateCategory.ORDERS, self._super_orders.cancel_super_order, order_id, "ENTRY_LEG"
        )

    # Reads: the NON_TRADING bucket.
    def order(self, order_id: str) -> DhanResponse:
        return self._call(RateCategory.NON_TRADING, self._orders.get_order_by_id, order_id)

    def order_by_correlation_id(self, correlation_id: str) -> DhanResponse:
        return self._call(
            RateCategory.NON_TRADING, self._orders.get_order_by_correlationID, correlation_id
        )

    def order_book(self) -> DhanResponse:
        return self._call(RateCategory.NON_TRADING, self._orders.get_order_list)

    def super_order_book(self) -> DhanResponse:
        return self._call(RateCategory.NON_TRADING, self._super_orders.get_super_order_list)

    def trade_book(self) -> DhanResponse:
        """The day's trades (`GET /trades`; the SDK requests `/trades/`)."""
        return self._call(RateCategory.NON_TRADING, self._statement.get_trade_book)

    def positions(self) -> DhanResponse:
        return self._call(RateCategory.NON_TRADING, self._portfolio.get_positions)

    def fund_limits(self) -> DhanResponse:
        return self._call(RateCategory.NON_TRADING, self._funds.get_fund_limits)

    def _call(
        self, category: RateCategory, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> DhanResponse:
        """Send within the limits; send again while Dhan refuses for its rate limit (bounded).

        Raises `RateLimitedError` (or `TransientError`) before sending when the limiter cannot
        give a slot: nothing went out then.
        """
        for attempt in range(1, RATE_LIMIT_ATTEMPTS + 1):
            refuse_if_http_debug_printing()
            self._rate_limiter.acquire(category, max_wait=MAX_SCHEDULE_WAIT_SECONDS)
            self._answer.forget()
            raw = method(*args, **kwargs)
            response = parse_response(raw, self._answer.status, self._answer.retry_after)
            failure = response.failure
            if failure is None or not failure.is_rate_limit or attempt == RATE_LIMIT_ATTEMPTS:
                return response
            back_off = max(failure.retry_after or 0.0, _BACK_OFF_SECONDS[attempt - 1])
            pause = min(back_off, MAX_PAUSE_SECONDS)
            log.warning(
                "dhan: %s call refused for the rate limit (%s); every %s call pauses %.1f s, "
                "then attempt %d of %d",
                category,
                failure.describe(),
                category,
                pause,
                attempt + 1,
                RATE_LIMIT_ATTEMPTS,
            )
            self._rate_limiter.pause(category, pause)
        raise AssertionError("unreachable: the last attempt returns")


class _LastAnswer(threading.local):
    """The HTTP status and `Retry-After` of this thread's last response (the SDK drops both)."""

    status: int | None = None
    retry_after: float | None = None

    def forget(self) -> None:
        self.status = None
        self.retry_after = None

    def observe(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self.status = response.status_code
        self.retry_after = _seconds(response.headers.get("Retry-After"))


def _seconds(header: str | None) -> float | None:
    """A `Retry-After` in seconds; None for an HTTP date or anything unreadable."""
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None


def refuse_if_http_debug_printing() -> None:
    """Raise before sending anything while `http.client` would print the request headers."""
    levels = (
        http.client.HTTPConnection.debuglevel,
        http.client.HTTPSConnection.debuglevel,
        urllib3.connection.HTTPConnection.debuglevel,
        urllib3.connection.HTTPSConnection.debuglevel,
    )
    if any(level > 0 for level in levels):
        raise NotSentError(
            "http.client debug printing is on (HTTPConnection.debuglevel > 0): it prints every "
            "request header to stdout, including the Dhan access token, so nothing was sent to "
            "Dhan. Set http.client.HTTPConnection.debuglevel = 0; use logging at DEBUG instead."
        )


_MIN_TOKEN_LENGTH = 8


def check_credentials(client_id: str, token: str) -> None:
    """Refuse credentials that cannot work, naming the variable and never echoing the token."""
    if not client_id.strip():
        raise ConfigError("the Dhan client id is empty: set TRADELOOP_DHAN_CLIENT_ID")
    if not token.strip():
        raise ConfigError("the Dhan access token is empty: set TRADELOOP_DHAN_ACCESS_TOKEN")
    if len(token) < _MIN_TOKEN_LENGTH:
        raise ConfigError(
            "the Dhan access token is too short to be one (Dhan issues long JWTs): check "
            "TRADELOOP_DHAN_ACCESS_TOKEN"
        )
    if any(character.isspace() for character in token):
        # requests refuses such a header with an error that quotes the value, and a stray
        # newline is the usual copy-paste accident.
        raise ConfigError(
            "the Dhan access token contains whitespace or a line break (a copy-paste accident?): "
            "set TRADELOOP_DHAN_ACCESS_TOKEN to the token alone"
        )


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; plain http only to this machine."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"TRADELOOP_DHAN_BASE_URL must be an http(s) URL such as https://api.dhan.co/v2, "
            f"got {base_url!r}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"TRADELOOP_DHAN_BASE_URL {base_url!r} uses plain http to a host that is not this "
            "machine: the access token would travel unencrypted. Use https."
        )
    return base_url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
