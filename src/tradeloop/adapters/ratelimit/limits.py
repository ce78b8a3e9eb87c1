"""Dhan's rate limits in one table, and the schedule that keeps every window under them.

Dhan's published limits, per account (DhanHQ v2 docs, "Rate Limit",
https://dhanhq.co/docs/v2/#rate-limit, read 2026-12-02):

==========  ==========  =========  ==========  ================
window      Order APIs  Data APIs  Quote APIs  Non Trading APIs
==========  ==========  =========  ==========  ================
per second  10          5          1           20
per minute  250         -          unlimited   unlimited
per hour    1000        -          unlimited   unlimited
per day     7000        100000     unlimited   unlimited
==========  ==========  =========  ==========  ================

Order APIs (place, modify, cancel) were 25 per second until Dhan cut them to 10 on 21 March 2026
for SEBI's retail-algo framework, under which fewer than 10 orders a second need no algo
registration ("DhanHQ Update: Safer participation of retail investors in Algo Trading - Static
IP, MPP & Rate Limits", https://madefortrade.in/t/61689); the docs page above still shows 25.
The option chain allows 1 request per 3 seconds (Dhan's Option Chain page). A limit Dhan calls
"unlimited" has no row here. A per-day limit is kept as a rolling 24 hours, which is never
looser than a calendar day.

A limit of N per period means: no window of that length ever holds more than N sends. The
limiters count a send when it happens (the moment before the HTTP request leaves), never when a
slot is reserved, and they count each window `SEND_MARGIN_SECONDS` longer than Dhan's: requests
reach Dhan a variable time after they leave, and a send that left 1.1 s after the one ten
places before it arrives more than 1.0 s after it unless the network jitters by more than
0.1 s. Ten orders then take at least 1.1 s: about 9 a second instead of 10.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

SEND_MARGIN_SECONDS = 0.1
"""Added to every window's length (see the module docstring)."""
_NO_WAIT = 1e-9


class RateCategory(StrEnum):
    ORDERS = "orders"
    """Order placement, modification and cancellation."""
    DATA = "data"
    """Historical and intraday candles."""
    QUOTES = "quotes"
    """Market quote snapshots (LTP, OHLC, depth)."""
    OPTION_CHAIN = "option_chain"
    NON_TRADING = "non_trading"
    """Order book, order by id or correlation id, trade book, positions, funds."""


_PERIOD_NAMES = {1.0: "second", 60.0: "minute", 3600.0: "hour", 86400.0: "day"}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `capacity` sends in any window of `period_seconds`."""

    capacity: int
    period_seconds: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"rate limit capacity must be at least 1, got {self.capacity}")
        if self.period_seconds <= 0:
            raise ValueError(f"rate limit period must be positive, got {self.period_seconds}")

    def describe(self) -> str:
        name = _PERIOD_NAMES.get(self.period_seconds)
        return f"{self.capacity} per {name or f'{self.period_seconds:g} s'}"


SECOND, MINUTE, HOUR, DAY = 1.0, 60.0, 3600.0, 86400.0

DHAN_RATE_LIMITS: Mapping[RateCategory, tuple[RateLimit, ...]] = {
    RateCategory.ORDERS: (
        RateLimit(10, SECOND),
        RateLimit(250, MINUTE),
        RateLimit(1000, HOUR),
        RateLimit(7000, DAY),
    ),
    RateCategory.DATA: (RateLimit(5, SECOND), RateLimit(100_000, DAY)),
    RateCategory.QUOTES: (RateLimit(1, SECOND),),
    RateCategory.OPTION_CHAIN: (RateLimit(1, 3 * SECOND),),
    RateCategory.NON_TRADING: (RateLimit(20, SECOND),),
}
"""Dhan's limits per category, the one table (see the module docstring for the source)."""


class RateLimiter(Protocol):
    """The port: one limiter per broker account, asked before every request."""

    def acquire(self, category: RateCategory, *, max_wait: float | None = None) -> float:
        """Wait until a send in `category` keeps every window within its limit, and count it.

        Returns the seconds waited. With `max_wait`, raises `RateLimitedError` without
        counting anything when the next free slot is further away than that.
        """
        ...

    def pause(self, category: RateCategory, seconds: float) -> None:
        """Hold every send in `category` for `seconds`: Dhan refused one (HTTP 429)."""
        ...

    def limits(self, category: RateCategory) -> tuple[RateLimit, ...]: ...


@dataclass(frozen=True, slots=True)
class Delay:
    """How long a send must wait, and which limit (None: a pause) decides it."""

    seconds: float
    binding: RateLimit | None


def delay_before_send(
    limits: Sequence[RateLimit],
    nth_newest: Callable[[int], float | None],
    paused_until: float,
    now: float,
    margin_seconds: float,
) -> Delay:
    """The wait before a send at `now` keeps every window of `limits` within its capacity.

    `nth_newest(n)` is the time of the n-th most recent send (None when there were fewer): a
    window of capacity N is full exactly while the N-th most recent send is inside it, and it
    frees up when that send leaves the window.
    """
    delay = Delay(max(0.0, paused_until - now), None)
    for limit in limits:
        oldest = nth_newest(limit.capacity)
        if oldest is None:
            continue
        wait = oldest + limit.period_seconds + margin_seconds - now
        if wait > delay.seconds:
            delay = Delay(wait, limit)
    # A wait of a nanosecond is float noise left by a sleep that ended exactly on time.
    return delay if delay.seconds > _NO_WAIT else Delay(0.0, None)


def check_limits(limits: Mapping[RateCategory, Sequence[RateLimit]]) -> None:
    for category, windows in limits.items():
        if not windows:
            raise ValueError(f"no rate limit given for {category}: leave the category out")


def unknown_category(category: RateCategory, known: Mapping[RateCategory, object]) -> ValueError:
    return ValueError(
        f"no rate limit configured for {category!r}; known: {', '.join(known) or 'none'}"
    )
