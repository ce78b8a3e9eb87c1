"""Client-side rate limits, per category, so Dhan never has to refuse us.

Dhan's published limits (per account): order APIs 10 per second, data APIs 5 per second, quote
APIs 1 per second, the option chain 1 per 3 seconds, and the other non-trading APIs (order book,
positions, funds) 20 per second.

Each category is a bucket of `capacity` tokens that come back `period_seconds` after they were
spent. That is a token bucket whose tokens return one by one on the exact schedule they were
spent, rather than a bucket refilled at a steady rate: a steadily refilled bucket of 10 that
starts full lets 20 calls through within one second (10 at once, 10 more as it refills), which
Dhan would refuse. With this rule no window of `period_seconds` ever holds more than `capacity`
calls, however the calls are spread.

Thread-safe: a caller reserves its slot under a lock and then waits outside it, so waiting
callers queue in arrival order without holding each other up. The clock and the sleep are
injectable so tests run on a fake clock and never sleep.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tradeloop.errors import RateLimitedError


class RateCategory(StrEnum):
    ORDERS = "orders"
    """Order placement, modification and cancellation."""
    DATA = "data"
    """Historical and intraday candles."""
    QUOTES = "quotes"
    """Market quote snapshots (LTP, OHLC, depth)."""
    OPTION_CHAIN = "option_chain"
    NON_TRADING = "non_trading"
    """Order book, order status, positions, funds."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `capacity` calls in any window of `period_seconds`."""

    capacity: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"rate limit capacity must be at least 1, got {self.capacity}")
        if self.period_seconds <= 0:
            raise ValueError(f"rate limit period must be positive, got {self.period_seconds}")


DHAN_RATE_LIMITS: Mapping[RateCategory, RateLimit] = {
    RateCategory.ORDERS: RateLimit(10, 1.0),
    RateCategory.DATA: RateLimit(5, 1.0),
    RateCategory.QUOTES: RateLimit(1, 1.0),
    RateCategory.OPTION_CHAIN: RateLimit(1, 3.0),
    RateCategory.NON_TRADING: RateLimit(20, 1.0),
}


class TokenBucket:
    """One category's bucket: a token spent at time t is back at t + period."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        # The times of the last `capacity` grants, oldest first. The oldest one decides when the
        # next token is free.
        self._grants: deque[float] = deque(maxlen=limit.capacity)

    def reserve(self, now: float, max_wait: float | None = None) -> float | None:
        """Reserve the next free token; return how long to wait for it (0 when free now).

        Returns None, reserving nothing, when the wait would exceed `max_wait`.
        Not locked: the `RateLimiter` that owns the bucket holds the lock.
        """
        start = now
        if len(self._grants) == self.limit.capacity:
            start = max(now, self._grants[0] + self.limit.period_seconds)
        wait = start - now
        if max_wait is not None and wait > max_wait:
            return None
        self._grants.append(start)
        return wait


class RateLimiter:
    """Token buckets per category, shared by every caller of one broker account."""

    def __init__(
        self,
        limits: Mapping[RateCategory, RateLimit] = DHAN_RATE_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._buckets = {category: TokenBucket(limit) for category, limit in limits.items()}
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def limit(self, category: RateCategory) -> RateLimit:
        return self._bucket(category).limit

    def acquire(self, category: RateCategory, *, max_wait: float | None = None) -> float:
        """Wait until a call in `category` is allowed; return the seconds waited.

        With `max_wait`, a call that would have to wait longer raises `RateLimitedError` at once
        (and uses no token) instead of blocking.
        """
        bucket = self._bucket(category)
        with self._lock:
            wait = bucket.reserve(self._clock(), max_wait)
        if wait is None:
            raise RateLimitedError(
                f"{category} calls are limited to {bucket.limit.capacity} per "
                f"{bucket.limit.period_seconds:g} s and the next free slot is more than "
                f"{max_wait:g} s away; retry later"
            )
        if wait > 0:
            self._sleep(wait)
        return wait

    def try_acquire(self, category: RateCategory) -> bool:
        """Take a token only if one is free right now."""
        bucket = self._bucket(category)
        with self._lock:
            return bucket.reserve(self._clock(), max_wait=0.0) is not None

    def _bucket(self, category: RateCategory) -> TokenBucket:
        try:
            return self._buckets[category]
        except KeyError:
            known = ", ".join(self._buckets)
            raise ValueError(f"no rate limit configured for {category!r}; known: {known}") from None


_shared_lock = threading.Lock()
_shared: RateLimiter | None = None


def shared_dhan_rate_limiter() -> RateLimiter:
    """The process-wide limiter for the Dhan account: every Dhan client must share one."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RateLimiter(DHAN_RATE_LIMITS)
        return _shared
