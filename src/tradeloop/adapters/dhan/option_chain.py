"""Index option chains and expiry lists from Dhan's v2 option-chain API, through the dhanhq SDK.

    POST /optionchain/expirylist  {UnderlyingScrip, UnderlyingSeg}  → {"data": ["2025-01-09", ...]}
    POST /optionchain  {UnderlyingScrip, UnderlyingSeg, Expiry}
        → {"data": {"last_price": 24964.25, "oc": {"25000.000000": {"ce": {...}, "pe": {...}}}}}

(Dhan's Option Chain page, https://dhanhq.co/docs/v2/option-chain/.) The underlying is the
index's security id (`domain.market.instruments.INDICES`) in segment IDX_I.

Units. Dhan's `implied_volatility` is in percent (8.945 is 8.945 %, the docs' ATM NIFTY call):
it is divided by 100 into our decimal. Dhan's Greeks are already in our units: delta per point
of the underlying, gamma per point per point, theta in rupees of premium per calendar day (the
docs' ATM call: −12.89 a day), vega in rupees per volatility point (12.99 for that call, which
is what Black-Scholes gives per 1 % at that spot, IV and week to expiry). `oi` is contracts'
open interest, an integer.

Dhan allows one option-chain request per 3 seconds: every request (the expiry list too) takes a
slot of the account's `RateLimiter` in category OPTION_CHAIN first, and a chain is kept for
`CACHE_SECONDS` per (symbol, expiry) so that asking again within that time does not reach Dhan.
Failures are routed as in `history`: refused credentials or no Data API subscription raise
`ConfigError` naming the fix, a rate limit or transport failure is retried (bounded by
`RetryPolicy`) and then raises `RateLimitedError` / `TransientError`, and a 200 answer that is
not a chain raises `DhanPayloadError` naming the field. The token is registered with the
process redactor before anything is sent.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from dhanhq import DhanContext
from dhanhq import OptionChain as SdkOptionChain
from pydantic import SecretStr

from tradeloop.adapters.dhan.charts import DhanPayloadError
from tradeloop.adapters.dhan.envelope import RATE_LIMIT_CODES, parse_response
from tradeloop.adapters.dhan.history import (
    DhanRequestError,
    RetryPolicy,
    _data_api_codes,
    _describe,
    _is_transient,
    _LastAnswer,
    _refusal,
)
from tradeloop.adapters.dhan.sdk import (
    MAX_SCHEDULE_WAIT_SECONDS,
    check_base_url,
    check_credentials,
    refuse_if_http_debug_printing,
)
from tradeloop.adapters.ratelimit import RateCategory, RateLimiter
from tradeloop.adapters.redaction import register_secret
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.options.chain import CHAIN_SCHEMA, OptionChain
from tradeloop.domain.options.expiries import time_to_expiry
from tradeloop.domain.options.pricing import forward_price
from tradeloop.errors import RateLimitedError, TransientError

log = logging.getLogger(__name__)

SEGMENT = "IDX_I"
CACHE_SECONDS = 3.0
"""How long a fetched chain is reused for the same (symbol, expiry): Dhan's 1-per-3-s window."""
_SIDES = {"ce": "CE", "pe": "PE"}
_GREEKS = ("delta", "gamma", "theta", "vega")


class DhanOptionChains:
    """Expiry lists and option chains of the indices in `domain.market.instruments`."""

    def __init__(
        self,
        client_id: str,
        access_token: SecretStr,
        *,
        base_url: str,
        timeout: float,
        rate_limiter: RateLimiter,
        rate: float,
        dividend_yield: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`rate` and `dividend_yield` are the [options] settings (the chain's forward);
        `clock` stamps each answer's receive time (`as_of`) and ages the cache."""
        token = access_token.get_secret_value()
        check_credentials(client_id, token)
        register_secret(access_token)
        context = DhanContext(client_id.strip(), token)
        transport = context.get_dhan_http()
        transport.base_url = check_base_url(base_url)
        transport.timeout = timeout
        self._sdk = SdkOptionChain(context)
        if self._sdk.dhan_http is not transport:
            raise RuntimeError(
                "dhanhq OptionChain does not use the context's DhanHTTP: the base URL override "
                "would not apply to it; check the installed dhanhq version"
            )
        self._transport = transport
        self._rate_limiter = rate_limiter
        self._rate = rate
        self._dividend_yield = dividend_yield
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._answer = _LastAnswer()
        self._cache: dict[tuple[str, date], OptionChain] = {}
        transport.session.hooks["response"].append(self._answer.observe)

    def __repr__(self) -> str:
        return f"DhanOptionChains(base_url={self._transport.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            "DhanOptionChains holds a live access token and cannot be pickled: build it where "
            "it is used (tradeloop.app.options.dhan_option_chains)"
        )

    def expiries(self, symbol: str) -> list[date]:
        """The expiries Dhan lists for `symbol`'s options, in order."""
        index = index_instrument(symbol)
        what = f"the {index.symbol} expiry list"
        body = self._send(lambda: self._sdk.expiry_list(int(index.dhan_security_id), SEGMENT), what)
        days = _field(body, "data", list, what)
        try:
            return sorted(date.fromisoformat(str(day)) for day in days)
        except ValueError as exc:
            raise DhanPayloadError(f"{what}: field 'data' holds a non-date ({exc})") from exc

    def chain(self, symbol: str, expiry: date) -> OptionChain:
        """Every strike of one expiry (see the module docstring for units and what raises)."""
        index = index_instrument(symbol)
        key = (index.symbol, expiry)
        cached = self._cache.get(key)
        if cached is not None and (self._clock() - cached.as_of).total_seconds() < CACHE_SECONDS:
            return cached
        what = f"the {index.symbol} {expiry} option chain"
        body = self._send(
            lambda: self._sdk.option_chain(
                int(index.dhan_security_id), SEGMENT, expiry.isoformat()
            ),
            what,
        )
        as_of = self._clock()
        data = _field(body, "data", dict, what)
        spot = _number(data.get("last_price"), "data.last_price", what)
        strikes = _field(data, "oc", dict, what, "data.oc")
        time_left = time_to_expiry(as_of, expiry)
        forward = float(forward_price(spot, time_left, self._rate, self._dividend_yield))
        found = OptionChain(
            index.symbol, expiry, as_of, spot, forward, time_left, "dhan", _rows(strikes, what)
        )
        self._cache[key] = found
        return found

    def _send(self, call: Callable[[], Any], what: str) -> Any:
        """Dhan's answer body; raises as the module docstring says."""
        retry = self._retry
        for attempt in range(1, retry.attempts + 1):
            refuse_if_http_debug_printing()
            self._rate_limiter.acquire(
                RateCategory.OPTION_CHAIN, max_wait=MAX_SCHEDULE_WAIT_SECONDS
            )
            self._answer.forget()
            response = parse_response(call(), self._answer.status, self._answer.retry_after)
            failure = response.failure
            if failure is None:
                return response.data
            codes = _data_api_codes(self._answer.body)
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
                    f"({_describe(failure, codes)}): try again later"
                )
            pause = retry.pause(attempt, failure.retry_after if rate_limited else None)
            log.warning(
                "dhan option chain: %s failed (%s); attempt %d of %d in %.1f s",
                what,
                _describe(failure, codes),
                attempt + 1,
                retry.attempts,
                pause,
            )
            if rate_limited:
                self._rate_limiter.pause(RateCategory.OPTION_CHAIN, pause)
            else:
                self._sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _rows(strikes: dict[str, Any], what: str) -> pl.DataFrame:
    columns: dict[str, list[Any]] = {name: [] for name in CHAIN_SCHEMA}
    for text, sides in strikes.items():
        strike = _number(text, f"data.oc key {text!r}", what)
        if not isinstance(sides, dict):
            raise DhanPayloadError(f"{what}: field 'data.oc.{text}' is not an object")
        for side, option_type in _SIDES.items():
            quote = sides.get(side)
            if quote is None:
                continue
            name = f"data.oc.{text}.{side}"
            if not isinstance(quote, dict):
                raise DhanPayloadError(f"{what}: field '{name}' is not an object")
            greeks = _field(quote, "greeks", dict, what, f"{name}.greeks")
            columns["strike"].append(strike)
            columns["option_type"].append(option_type)
            columns["price"].append(_number(quote.get("last_price"), f"{name}.last_price", what))
            iv = _number(quote.get("implied_volatility"), f"{name}.implied_volatility", what)
            columns["iv"].append(iv / 100.0)
            for greek in _GREEKS:
                columns[greek].append(_number(greeks.get(greek), f"{name}.greeks.{greek}", what))
            oi = _number(quote.get("oi"), f"{name}.oi", what)
            if oi != int(oi) or oi < 0:
                raise DhanPayloadError(f"{what}: field '{name}.oi' is not a count ({oi})")
            columns["oi"].append(int(oi))
    rows = pl.DataFrame(columns, schema=CHAIN_SCHEMA)
    return rows.sort(["strike", "option_type"])


def _field(container: Any, key: str, kind: type, what: str, name: str | None = None) -> Any:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, kind):
        raise DhanPayloadError(
            f"{what}: Dhan's answer has no field '{name or key}' of type {kind.__name__} "
            f"(got {type(value).__name__})"
        )
    return value


def _number(value: Any, name: str, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise DhanPayloadError(f"{what}: field '{name}' is not a number (got {value!r})")
    return number
