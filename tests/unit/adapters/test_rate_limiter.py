"""Rate limiters on a fake clock (nothing here sleeps): the in-memory one and the shared SQLite one.

Every rule is checked on both: they share the schedule and differ only in where sends are kept.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.adapters.ratelimit import (
    DHAN_RATE_LIMITS,
    SEND_MARGIN_SECONDS,
    InMemoryRateLimiter,
    RateCategory,
    RateLimit,
    SqliteRateLimiter,
)
from tradeloop.adapters.ratelimit.base import ScheduledRateLimiter
from tradeloop.errors import ConfigError, RateLimitedError, is_transient

Limits = Mapping[RateCategory, Sequence[RateLimit]]
MakeLimiter = Callable[..., ScheduledRateLimiter]


class FakeClock:
    """Time moves when a test says so, or when the limiter sleeps (plus any `oversleep`)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.oversleep: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + (self.oversleep.pop(0) if self.oversleep else 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> MakeLimiter:
    def build(
        limits: Limits = DHAN_RATE_LIMITS, account: str = "1000000003"
    ) -> ScheduledRateLimiter:
        if request.param == "memory":
            return InMemoryRateLimiter(limits, clock=clock, sleep=clock.sleep)
        return SqliteRateLimiter(
            tmp_path / "limits.sqlite",
            account=account,
            limits=limits,
            clock=clock,
            sleep=clock.sleep,
        )

    return build


def test_dhan_limits_are_the_published_ones() -> None:
    assert DHAN_RATE_LIMITS[RateCategory.ORDERS] == (
        RateLimit(10, 1.0),
        RateLimit(250, 60.0),
        RateLimit(1000, 3600.0),
        RateLimit(7000, 86400.0),
    )
    assert DHAN_RATE_LIMITS[RateCategory.DATA] == (RateLimit(5, 1.0), RateLimit(100_000, 86400.0))
    assert DHAN_RATE_LIMITS[RateCategory.QUOTES] == (RateLimit(1, 1.0),)
    assert DHAN_RATE_LIMITS[RateCategory.OPTION_CHAIN] == (RateLimit(1, 3.0),)
    assert DHAN_RATE_LIMITS[RateCategory.NON_TRADING] == (RateLimit(20, 1.0),)
    assert 0.05 <= SEND_MARGIN_SECONDS <= 0.1


def test_the_eleventh_order_waits_until_the_first_is_a_second_and_the_margin_old(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    start = clock.now
    for _ in range(10):
        clock.now += 0.05
        assert limiter.acquire(RateCategory.ORDERS) == 0.0

    waited = limiter.acquire(RateCategory.ORDERS)

    # The first send was at start + 0.05; it leaves the 1.1 s window at start + 1.15.
    assert waited == pytest.approx(0.65)
    assert clock.now == pytest.approx(start + 1.15)


def test_sends_spread_wider_than_the_window_never_wait(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    for _ in range(50):
        limiter.acquire(RateCategory.ORDERS)
        clock.now += 0.12
    assert clock.sleeps == []


def test_a_send_is_counted_when_it_leaves_not_when_its_wait_began(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter({RateCategory.QUOTES: (RateLimit(1, 1.0),)})
    limiter.acquire(RateCategory.QUOTES)
    clock.oversleep = [0.3]  # the caller woke 0.3 s late and sent then
    limiter.acquire(RateCategory.QUOTES)
    sent_late = clock.now

    limiter.acquire(RateCategory.QUOTES)

    assert clock.now == pytest.approx(sent_late + 1.0 + SEND_MARGIN_SECONDS)


def test_the_per_minute_order_limit_holds_after_the_per_second_one(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    start = clock.now
    sent = []
    for _ in range(251):
        limiter.acquire(RateCategory.ORDERS)
        sent.append(clock.now)

    assert sent[249] - start < 60.0  # 250 fit in the minute at ten a second
    assert sent[250] == pytest.approx(start + 60.0 + SEND_MARGIN_SECONDS)


def test_a_used_up_hourly_limit_refuses_at_once_naming_the_limit(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter({RateCategory.ORDERS: (RateLimit(10, 1.0), RateLimit(3, 3600.0))})
    for _ in range(3):
        limiter.acquire(RateCategory.ORDERS, max_wait=60.0)

    with pytest.raises(RateLimitedError, match="3 per hour, all used") as refused:
        limiter.acquire(RateCategory.ORDERS, max_wait=60.0)

    assert is_transient(refused.value)
    assert "Nothing was sent" in str(refused.value)
    assert clock.sleeps == []
    clock.now += 3600.0 + SEND_MARGIN_SECONDS
    assert limiter.acquire(RateCategory.ORDERS, max_wait=0.0) == 0.0  # the refusal used no slot


def test_the_option_chain_allows_one_call_per_three_seconds(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    limiter.acquire(RateCategory.OPTION_CHAIN)
    clock.now += 1.0

    assert limiter.acquire(RateCategory.OPTION_CHAIN) == pytest.approx(2.0 + SEND_MARGIN_SECONDS)


def test_categories_are_counted_apart(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    limiter.acquire(RateCategory.QUOTES)

    assert limiter.acquire(RateCategory.DATA) == 0.0
    assert limiter.acquire(RateCategory.QUOTES) == pytest.approx(1.0 + SEND_MARGIN_SECONDS)


def test_a_pause_holds_every_send_of_its_category_and_no_other(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    limiter.pause(RateCategory.ORDERS, 4.0)
    limiter.pause(RateCategory.ORDERS, 1.0)  # a shorter pause never shortens the first

    assert limiter.acquire(RateCategory.NON_TRADING) == 0.0
    assert limiter.acquire(RateCategory.ORDERS) == pytest.approx(4.0)


def test_a_pause_longer_than_the_caller_may_wait_refuses_without_sending(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter()
    limiter.pause(RateCategory.ORDERS, 30.0)

    with pytest.raises(RateLimitedError, match="asked to slow down"):
        limiter.acquire(RateCategory.ORDERS, max_wait=10.0)
    assert clock.sleeps == []


def test_from_many_threads_exactly_the_capacity_goes_out_at_once(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    sent: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(30)

    def send() -> None:
        start.wait()
        try:
            limiter.acquire(RateCategory.ORDERS, max_wait=0.0)
            outcome = True
        except RateLimitedError:
            outcome = False
        with lock:
            sent.append(outcome)

    threads = [threading.Thread(target=send) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sent.count(True) == 10


def test_unknown_category_is_refused_by_name(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({RateCategory.ORDERS: (RateLimit(10, 1.0),)})
    with pytest.raises(ValueError, match=r"no rate limit configured for .*quotes"):
        limiter.acquire(RateCategory.QUOTES)


@pytest.mark.parametrize(("capacity", "period"), [(0, 1.0), (1, 0.0), (5, -1.0)])
def test_invalid_limits_are_refused(capacity: int, period: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(capacity, period)


# --- one account, many processes: the SQLite file ---------------------------------------------


def test_two_processes_on_one_file_count_their_sends_together(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "limits.sqlite"
    first, second = (
        SqliteRateLimiter(path, account="1000000003", clock=clock, sleep=clock.sleep)
        for _ in range(2)
    )
    for sequence in range(10):
        (first if sequence % 2 else second).acquire(RateCategory.ORDERS)

    assert first.acquire(RateCategory.ORDERS) == pytest.approx(1.0 + SEND_MARGIN_SECONDS)


def test_a_new_file_opened_while_another_process_holds_it_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    """Two workers starting together both open a new limiter file. Switching it to WAL needs an
    exclusive lock, and SQLite answers "database is locked" at once while another connection
    writes: the second opener waits for the first instead of failing (a CI flake before)."""
    path = tmp_path / "limits.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE held (x)")
    other.execute("BEGIN IMMEDIATE")  # another process, mid-transaction on the new file
    released = threading.Event()

    def finish_the_other_transaction() -> None:
        other.execute("COMMIT")
        released.set()

    threading.Timer(0.2, finish_the_other_transaction).start()
    limiter = SqliteRateLimiter(path, account="1000000003")

    assert released.is_set()
    assert limiter.acquire(RateCategory.ORDERS) == 0.0
    other.close()


def test_a_pause_one_process_records_holds_the_other(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "limits.sqlite"
    first, second = (
        SqliteRateLimiter(path, account="1000000003", clock=clock, sleep=clock.sleep)
        for _ in range(2)
    )
    first.pause(RateCategory.ORDERS, 2.0)

    assert second.acquire(RateCategory.ORDERS) == pytest.approx(2.0)


def test_accounts_sharing_a_file_are_counted_apart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "limits.sqlite"
    limits = {RateCategory.QUOTES: (RateLimit(1, 1.0),)}
    mine, theirs = (
        SqliteRateLimiter(path, account=account, limits=limits, clock=clock, sleep=clock.sleep)
        for account in ("1000000003", "1000000004")
    )
    mine.acquire(RateCategory.QUOTES)

    assert theirs.acquire(RateCategory.QUOTES) == 0.0


def test_sends_older_than_the_longest_window_are_forgotten(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "limits.sqlite"
    limiter = SqliteRateLimiter(
        path,
        account="1000000003",
        limits={RateCategory.QUOTES: (RateLimit(1, 1.0),)},
        clock=clock,
        sleep=clock.sleep,
    )
    for _ in range(20):
        limiter.acquire(RateCategory.QUOTES)
        clock.now += 5.0

    with sqlite3.connect(path) as db:
        [(kept,)] = db.execute("SELECT count(*) FROM sends").fetchall()
    assert kept == 1


def test_a_limiter_file_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    with pytest.raises(ConfigError, match="writable local directory"):
        SqliteRateLimiter(blocker / "limits.sqlite", account="1000000003")


# --- the property: no window ever holds more than the capacity --------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    capacity=st.integers(min_value=1, max_value=12),
    period=st.sampled_from([0.5, 1.0, 3.0]),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.7), min_size=1, max_size=60),
    oversleeps=st.lists(st.floats(min_value=0.0, max_value=0.3), max_size=60),
)
def test_no_window_of_the_period_and_margin_ever_holds_more_than_the_capacity(
    capacity: int, period: float, gaps: list[float], oversleeps: list[float]
) -> None:
    clock = FakeClock()
    clock.oversleep = list(oversleeps)
    limiter = InMemoryRateLimiter(
        {RateCategory.ORDERS: (RateLimit(capacity, period),)}, clock=clock, sleep=clock.sleep
    )
    sent_at: list[float] = []
    for gap in gaps:
        clock.now += gap
        limiter.acquire(RateCategory.ORDERS)
        sent_at.append(clock.now)

    window = period + SEND_MARGIN_SECONDS
    for index, start in enumerate(sent_at):
        inside = [at for at in sent_at[index:] if at < start + window - 1e-9]
        assert len(inside) <= capacity
