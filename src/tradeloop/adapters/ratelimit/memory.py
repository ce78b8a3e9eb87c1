"""`InMemoryRateLimiter`: the limiter for one process (tests, scripts, a single trader).

It keeps the recent send times in memory, so it limits only the process that holds it: two
processes trading one account each need the shared `SqliteRateLimiter` instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from tradeloop.adapters.ratelimit.base import ScheduledRateLimiter
from tradeloop.adapters.ratelimit.limits import (
    DHAN_RATE_LIMITS,
    SEND_MARGIN_SECONDS,
    Delay,
    RateCategory,
    RateLimit,
    delay_before_send,
)


class InMemoryRateLimiter(ScheduledRateLimiter):
    """Send times per category in a deque; thread-safe; clock and sleep injectable."""

    def __init__(
        self,
        limits: Mapping[RateCategory, Sequence[RateLimit]] = DHAN_RATE_LIMITS,
        *,
        margin_seconds: float = SEND_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(limits, margin_seconds=margin_seconds, clock=clock, sleep=sleep)
        # The largest capacity is as far back as any window needs to look.
        self._sends = {
            category: deque[float](maxlen=max(limit.capacity for limit in windows))
            for category, windows in self._limits.items()
        }
        self._paused_until = dict.fromkeys(self._limits, -math.inf)
        self._lock = threading.Lock()

    def _send_or_wait(self, category: RateCategory, limits: tuple[RateLimit, ...]) -> Delay:
        sends = self._sends[category]

        def nth_newest(n: int) -> float | None:
            return sends[-n] if len(sends) >= n else None

        with self._lock:
            now = self._clock()
            delay = delay_before_send(
                limits, nth_newest, self._paused_until[category], now, self.margin_seconds
            )
            if delay.seconds <= 0:
                sends.append(now)
            return delay

    def _pause_until(self, category: RateCategory, until: float) -> None:
        with self._lock:
            self._paused_until[category] = max(self._paused_until[category], until)
