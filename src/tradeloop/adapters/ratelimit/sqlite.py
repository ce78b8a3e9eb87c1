"""`SqliteRateLimiter`: one limiter per account, shared by every process that trades it.

Dhan counts per account, so every process sending for the account (a Prefect worker, the
trading session, a CLI command) must count in one place. That place is a small SQLite file
under the data directory holding the recent send times per account and category, and the
pauses Dhan asked for with a 429.

Why SQLite rather than a lock file (`fcntl.flock`) around a file of times:

- `BEGIN IMMEDIATE` makes "read the recent sends, decide, record this one" one atomic step
  across processes and threads; SQLite's busy timeout queues the other writers.
- A process killed in the middle leaves nothing stuck: its transaction rolls back, and no lock
  outlives it (a lock file on some systems does).
- The per-hour and per-day windows need up to 7,000 (orders) or 100,000 (data) times; an index
  on (account, category, time) finds the N-th most recent without reading and rewriting them
  all on every send.
- It is in the standard library and works on the same disks as the SQLite ledger (WAL needs a
  local file system, not NFS).

The lock is held only to read and record: a caller that must wait commits, sleeps outside the
transaction, and asks again. Times come from the wall clock (`time.time`), the one clock that
processes share; rows older than the longest window are deleted as sends are recorded.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tradeloop.adapters.ratelimit.base import ScheduledRateLimiter
from tradeloop.adapters.ratelimit.limits import (
    DHAN_RATE_LIMITS,
    SEND_MARGIN_SECONDS,
    Delay,
    RateCategory,
    RateLimit,
    delay_before_send,
)
from tradeloop.errors import ConfigError, TransientError

BUSY_TIMEOUT_SECONDS = 10.0
"""How long a process waits for another one's transaction (a few statements) to end."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sends "
    "(account TEXT NOT NULL, category TEXT NOT NULL, sent_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sends_by_time ON sends (account, category, sent_at)",
    "CREATE TABLE IF NOT EXISTS pauses (account TEXT NOT NULL, category TEXT NOT NULL, "
    "until REAL NOT NULL, PRIMARY KEY (account, category))",
)
_NTH_NEWEST = (
    "SELECT sent_at FROM sends WHERE account = ? AND category = ? "
    "ORDER BY sent_at DESC LIMIT 1 OFFSET ?"
)
_PAUSED_UNTIL = "SELECT until FROM pauses WHERE account = ? AND category = ?"
_RECORD = "INSERT INTO sends (account, category, sent_at) VALUES (?, ?, ?)"
_FORGET = "DELETE FROM sends WHERE account = ? AND category = ? AND sent_at < ?"
_PAUSE = (
    "INSERT INTO pauses (account, category, until) VALUES (?, ?, ?) "
    "ON CONFLICT (account, category) DO UPDATE SET until = max(until, excluded.until)"
)


class SqliteRateLimiter(ScheduledRateLimiter):
    """The limiter of `account`, counted in the SQLite file at `path` (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        account: str,
        limits: Mapping[RateCategory, Sequence[RateLimit]] = DHAN_RATE_LIMITS,
        margin_seconds: float = SEND_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(limits, margin_seconds=margin_seconds, clock=clock, sleep=sleep)
        if not account.strip():
            raise ValueError("the rate limiter needs the account it counts for")
        self.path = path
        self.account = account
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock, self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def __repr__(self) -> str:
        return f"SqliteRateLimiter(path={str(self.path)!r})"

    def _send_or_wait(self, category: RateCategory, limits: tuple[RateLimit, ...]) -> Delay:
        key = (self.account, category.value)
        longest = max(limit.period_seconds for limit in limits) + self.margin_seconds
        with self._lock, self._transaction() as db:

            def nth_newest(n: int) -> float | None:
                row = db.execute(_NTH_NEWEST, (*key, n - 1)).fetchone()
                return None if row is None else float(row[0])

            paused = db.execute(_PAUSED_UNTIL, key).fetchone()
            now = self._clock()
            delay = delay_before_send(
                limits, nth_newest, -1.0 if paused is None else paused[0], now, self.margin_seconds
            )
            if delay.seconds <= 0:
                db.execute(_RECORD, (*key, now))
                db.execute(_FORGET, (*key, now - longest))
            return delay

    def _pause_until(self, category: RateCategory, until: float) -> None:
        with self._lock, self._transaction() as db:
            db.execute(_PAUSE, (self.account, category.value, until))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` … `COMMIT`: the write lock across processes. Hold `self._lock`."""
        db = self._open()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransientError(
                f"the rate-limit file {self.path} stayed locked by another process for "
                f"{BUSY_TIMEOUT_SECONDS:g} s ({exc}); nothing was sent, retry"
            ) from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        # A connection must not cross a fork: a child process opens its own.
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # transactions are ours: BEGIN IMMEDIATE … COMMIT
                check_same_thread=False,  # self._lock serialises the threads
            )
            _use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the rate-limit file {self.path} ({exc}): the data directory must "
                "be a writable local directory (set TRADELOOP_DATA_DIR)"
            ) from exc
        self._connection, self._pid = db, os.getpid()
        return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch a new file to WAL, waiting out another process doing the same.

    Changing the journal mode takes an exclusive lock and SQLite answers "database is locked"
    at once instead of calling the busy handler, so two processes opening a new file together
    (two workers starting) would have one of them fail; it retries until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
