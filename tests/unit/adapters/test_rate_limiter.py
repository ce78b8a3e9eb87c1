"""Rate limiter: token buckets per category on a fake clock (nothing here ever sleeps)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.adapters.ratelimit import (
    DHAN_RATE_LIMITS,
    RateCategory,
    RateLimit,
    RateLimiter,
    shared_dhan_rate_limiter,
)
from tradeloop.errors import RateLimitedError, is_transient


class FakeClock:
    """Time moves when a test says so, or when the limiter sleeps."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter_on(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep)


def test_dhan_limits_are_the_published_ones() -> None:
    assert DHAN_RATE_LIMITS[RateCategory.ORDERS] == RateLimit(10, 1.0)
    assert DHAN_RATE_LIMITS[RateCategory.DATA] == RateLimit(5, 1.0)
    assert DHAN_RATE_LIMITS[RateCategory.QUOTES] == RateLimit(1, 1.0)
    assert DHAN_RATE_LIMITS[RateCategory.OPTION_CHAIN] == RateLimit(1, 3.0)


def test_eleventh_order_call_within_one_second_waits_until_the_first_token_returns() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    for _ in range(10):
        clock.now += 0.05
        assert limiter.acquire(RateCategory.ORDERS) == 0.0
    assert clock.sleeps == []

    waited = limiter.acquire(RateCategory.ORDERS)

    # The first call was at t=1000.05; its token is back at 1001.05, now is 1000.50.
    assert waited == pytest.approx(0.55)
    assert clock.sleeps == [pytest.approx(0.55)]


def test_calls_spread_over_more_than_a_second_never_wait() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    for _ in range(50):
        limiter.acquire(RateCategory.ORDERS)
        clock.now += 0.1
    assert clock.sleeps == []


def test_option_chain_allows_one_call_per_three_seconds() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.acquire(RateCategory.OPTION_CHAIN)
    clock.now += 1.0

    assert limiter.acquire(RateCategory.OPTION_CHAIN) == pytest.approx(2.0)


def test_categories_do_not_share_tokens() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.acquire(RateCategory.QUOTES)

    assert limiter.acquire(RateCategory.DATA) == 0.0
    assert limiter.acquire(RateCategory.QUOTES) == pytest.approx(1.0)


def test_waiting_callers_queue_behind_each_other() -> None:
    clock = FakeClock()
    sleeps: list[float] = []
    # The sleep records but does not advance the clock: every caller arrives at one instant.
    limiter = RateLimiter(
        {RateCategory.QUOTES: RateLimit(1, 1.0)}, clock=clock, sleep=sleeps.append
    )

    waits = [limiter.acquire(RateCategory.QUOTES) for _ in range(4)]

    assert waits == [0.0, 1.0, 2.0, 3.0]
    assert sleeps == [1.0, 2.0, 3.0]


def test_max_wait_raises_a_transient_rate_limited_error_without_using_a_token() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.acquire(RateCategory.OPTION_CHAIN)

    with pytest.raises(RateLimitedError, match="option_chain calls are limited to 1 per 3 s") as e:
        limiter.acquire(RateCategory.OPTION_CHAIN, max_wait=1.0)

    assert is_transient(e.value)
    clock.now += 3.0
    assert limiter.acquire(RateCategory.OPTION_CHAIN, max_wait=0.0) == 0.0


def test_unknown_category_is_refused_by_name() -> None:
    limiter = RateLimiter({RateCategory.ORDERS: RateLimit(10, 1.0)})
    with pytest.raises(ValueError, match=r"no rate limit configured for .*quotes"):
        limiter.acquire(RateCategory.QUOTES)


@pytest.mark.parametrize(("capacity", "period"), [(0, 1.0), (1, 0.0), (5, -1.0)])
def test_invalid_limits_are_refused(capacity: int, period: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(capacity, period)


def test_try_acquire_from_many_threads_grants_exactly_the_capacity() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def call() -> None:
        start.wait()
        result = limiter.try_acquire(RateCategory.ORDERS)
        with lock:
            granted.append(result)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 10


def test_the_shared_dhan_limiter_is_one_instance() -> None:
    assert shared_dhan_rate_limiter() is shared_dhan_rate_limiter()


@settings(max_examples=80, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=12),
    period=st.sampled_from([0.5, 1.0, 3.0]),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.7), min_size=1, max_size=60),
)
def test_no_window_of_one_period_ever_holds_more_than_capacity_calls(
    capacity: int, period: float, gaps: list[float]
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {RateCategory.ORDERS: RateLimit(capacity, period)}, clock=clock, sleep=clock.sleep
    )
    granted_at: list[float] = []
    for gap in gaps:
        clock.now += gap
        limiter.acquire(RateCategory.ORDERS)
        granted_at.append(clock.now)

    assert granted_at == sorted(granted_at)
    for index, start in enumerate(granted_at):
        in_window = [t for t in granted_at[index:] if t < start + period - 1e-9]
        assert len(in_window) <= capacity
