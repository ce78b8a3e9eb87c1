"""The last traded price of each instrument, and when it may no longer be trusted.

An `LtpCache` is keyed by (exchange segment code, security id) and holds, per instrument, the last
price, the exchange's time of that trade and the time this process received it. A feed client
writes it; strategies and the risk path read it.

The stale rule: during market hours an instrument with no tick for `stale_after` (counted from
when the last tick was *received*, on the caller's clock) is stale. An instrument that never
ticked is stale. Outside market hours nothing is stale, since nothing trades. A stale price
refuses new entries: `entry_price` raises `StalePriceError` rather than return it.

`StalePriceError` is a `TradingRefusedError` (an operational stop, never retried on a timer):
a stale price is neither the user's input nor a fault that a blind retry fixes; retrying the
same entry seconds later would act on a decision made without a price. The next decision is the
strategy's, on the next fresh tick.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tradeloop.errors import TradingRefusedError

QuoteKey = Hashable
"""(exchange segment code, security id) for the Dhan feed; any hashable key works."""


class StalePriceError(TradingRefusedError):
    """No fresh price for an instrument in market hours: a new entry is refused."""


@dataclass(frozen=True, slots=True)
class LastPrice:
    price: float
    exchange_time: datetime
    received_at: datetime


class LtpCache:
    """Last traded prices with the stale rule. `is_market_open(now)` decides market hours
    (`NSECalendar.is_open`); `stale_after` is N, the longest silence a price survives."""

    def __init__(
        self, *, stale_after: timedelta, is_market_open: Callable[[datetime], bool]
    ) -> None:
        if stale_after <= timedelta(0):
            raise ValueError(f"stale_after must be positive, got {stale_after}")
        self.stale_after = stale_after
        self._is_market_open = is_market_open
        self._prices: dict[QuoteKey, LastPrice] = {}

    def update(
        self, key: QuoteKey, price: float, exchange_time: datetime, received_at: datetime
    ) -> None:
        self._prices[key] = LastPrice(price, exchange_time, received_at)

    def get(self, key: QuoteKey) -> LastPrice | None:
        return self._prices.get(key)

    def __len__(self) -> int:
        return len(self._prices)

    def __contains__(self, key: object) -> bool:
        return key in self._prices

    def stale(self, key: QuoteKey, now: datetime, market_open: bool) -> bool:
        """True when `key` has had no tick for longer than `stale_after` in market hours."""
        if not market_open:
            return False
        last = self._prices.get(key)
        return last is None or now - last.received_at > self.stale_after

    def entry_price(self, key: QuoteKey, now: datetime) -> float:
        """The price to enter at, or `StalePriceError`: never a stale or invented price."""
        last = self._prices.get(key)
        market_open = self._is_market_open(now)
        if last is None:
            raise StalePriceError(
                f"no price received yet for {key}: new entries are refused until the feed "
                "delivers a tick (is the instrument subscribed and the feed connected?)"
            )
        if self.stale(key, now, market_open):
            silent = (now - last.received_at).total_seconds()
            raise StalePriceError(
                f"the price of {key} is stale: no tick for {silent:.0f} s in market hours "
                f"(limit {self.stale_after.total_seconds():.0f} s); new entries are refused "
                "until a fresh tick arrives. Check the feed connection."
            )
        return last.price
