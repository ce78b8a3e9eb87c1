"""Time: injected everywhere, so tests and replays control it.

The domain and the agent runtime never call `datetime.now()` themselves; they ask a `Clock` (or
take `utc_now` as their default). `SystemClock` is the real one;
`ManualClock` is set by hand (tests, replayed sessions) and is a product fake, not a mock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


def utc_now() -> datetime:
    """The wall clock, in UTC: the one place tradeloop's real time comes from."""
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, tz-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return utc_now()


class ManualClock:
    """A clock that only moves when told to (replays, tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"naive datetime {start!r}: ManualClock needs a tz-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError(f"naive datetime {instant!r}: ManualClock needs tz-aware instants")
        self._now = instant
