"""The waiting loop both limiters share; where the sends are counted is theirs to say.

A caller asks its limiter to send now. Under the limiter's lock, the limiter reads the clock,
computes the wait (`delay_before_send`) and, if there is none, records the send at that
instant and returns: the caller sends at once. Otherwise the caller releases the lock, sleeps
for the wait and asks again with the clock read afresh. Nothing is reserved ahead, so a caller
that oversleeps or is slow to send never makes a later send look earlier than it was. Callers
that wait together are not served in a fixed order: whoever asks first once a slot frees up
takes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

from tradeloop.adapters.ratelimit.limits import (
    Delay,
    RateCategory,
    RateLimit,
    check_limits,
    unknown_category,
)
from tradeloop.errors import RateLimitedError


class ScheduledRateLimiter(ABC):
    """`acquire` and `pause` over a store of send times (see the module docstring)."""

    def __init__(
        self,
        limits: Mapping[RateCategory, Sequence[RateLimit]],
        *,
        margin_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        check_limits(limits)
        if margin_seconds < 0:
            raise ValueError(f"the rate limit margin must not be negative, got {margin_seconds}")
        self._limits = {category: tuple(windows) for category, windows in limits.items()}
        self.margin_seconds = margin_seconds
        self._clock = clock
        self._sleep = sleep

    def limits(self, category: RateCategory) -> tuple[RateLimit, ...]:
        try:
            return self._limits[category]
        except KeyError:
            raise unknown_category(category, self._limits) from None

    def acquire(self, category: RateCategory, *, max_wait: float | None = None) -> float:
        """Wait until a send in `category` fits every limit, record it, return the seconds waited.

        With `max_wait`, a send whose next free slot is further away than that raises
        `RateLimitedError` at once and records nothing.
        """
        limits = self.limits(category)
        waited = 0.0
        while True:
            delay = self._send_or_wait(category, limits)
            if delay.seconds <= 0:
                return waited
            if max_wait is not None and delay.seconds > max_wait:
                raise RateLimitedError(_too_far(category, delay, max_wait))
            self._sleep(delay.seconds)
            waited += delay.seconds

    def pause(self, category: RateCategory, seconds: float) -> None:
        """No send in `category` before `seconds` from now (every caller sharing the store)."""
        self.limits(category)
        if seconds > 0:
            self._pause_until(category, self._clock() + seconds)

    @abstractmethod
    def _send_or_wait(self, category: RateCategory, limits: tuple[RateLimit, ...]) -> Delay:
        """Atomically: the wait for a send now, or (no wait) the send recorded at now."""

    @abstractmethod
    def _pause_until(self, category: RateCategory, until: float) -> None:
        """Atomically: no send in `category` before `until` (an earlier pause never shortens)."""


def _too_far(category: RateCategory, delay: Delay, max_wait: float) -> str:
    if delay.binding is None:
        reason = "Dhan refused a call for its rate limit and asked to slow down"
    else:
        reason = f"Dhan allows {delay.binding.describe()}, all used"
    return (
        f"{category} calls: {reason}; the next free slot is {delay.seconds:.1f} s away, more "
        f"than the {max_wait:g} s this call may wait. Nothing was sent; retry later"
    )
