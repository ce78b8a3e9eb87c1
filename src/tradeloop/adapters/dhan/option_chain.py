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
Failures are routed by `data_api.DataApiClient`, as for history: refused credentials or no
Data API subscription raise `ConfigError` naming the fix, a rate limit or transport failure is
retried (bounded by `RetryPolicy`) and then raises `RateLimitedError` / `TransientError`, and a
200 answer that is not a chain raises `DhanPayloadError` naming the field. The token is
registered with the process redactor before anything is sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from dhanhq import OptionChain as SdkOptionChain
from pydantic import SecretStr

from tradeloop.adapters.dhan.charts import DhanPayloadError
from tradeloop.adapters.dhan.data_api import DataApiClient, RetryPolicy
from tradeloop.adapters.ratelimit import RateCategory, RateLimiter
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.options.chain import CHAIN_SCHEMA, OptionChain
from tradeloop.domain.options.expiries import time_to_expiry
from tradeloop.domain.options.pricing import forward_price

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
        self._client = DataApiClient(
            client_id,
            access_token,
            base_url=base_url,
            timeout=timeout,
            rate_limiter=rate_limiter,
            category=RateCategory.OPTION_CHAIN,
            retry=retry,
            sleep=sleep,
            name="dhan option chain",
            exhausted_advice=": try again later",
        )
        self._sdk = SdkOptionChain(self._client.context)
        self._client.check_uses_transport(self._sdk, "OptionChain")
        self._rate = rate
        self._dividend_yield = dividend_yield
        self._clock = clock
        self._cache: dict[tuple[str, date], OptionChain] = {}

    def __repr__(self) -> str:
        return f"DhanOptionChains(base_url={self._client.transport.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(
            "DhanOptionChains holds a live access token and cannot be pickled: build it where "
            "it is used (tradeloop.app.options.dhan_option_chains)"
        )

    def expiries(self, symbol: str) -> list[date]:
        """The expiries Dhan lists for `symbol`'s options, in order."""
        index = index_instrument(symbol)
        what = f"the {index.symbol} expiry list"
        body, _ = self._client.send(
            lambda: self._sdk.expiry_list(int(index.dhan_security_id), SEGMENT), what
        )
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
        body, _ = self._client.send(
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
