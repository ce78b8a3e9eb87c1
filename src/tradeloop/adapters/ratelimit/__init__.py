"""Client-side rate limits, so that Dhan never has to refuse us.

- `limits`: Dhan's limits per category in one table (with its source), the `RateLimiter` port,
  and the schedule: a send is counted when it leaves, each window with a safety margin.
- `SqliteRateLimiter`: the production limiter, one per account, shared by every process
  through a SQLite file under the data directory (`tradeloop.app.trading.dhan_broker`).
- `InMemoryRateLimiter`: the same rules inside one process (tests, scripts).
"""

from tradeloop.adapters.ratelimit.limits import (
    DHAN_RATE_LIMITS,
    SEND_MARGIN_SECONDS,
    RateCategory,
    RateLimit,
    RateLimiter,
)
from tradeloop.adapters.ratelimit.memory import InMemoryRateLimiter
from tradeloop.adapters.ratelimit.sqlite import SqliteRateLimiter

__all__ = [
    "DHAN_RATE_LIMITS",
    "SEND_MARGIN_SECONDS",
    "InMemoryRateLimiter",
    "RateCategory",
    "RateLimit",
    "RateLimiter",
    "SqliteRateLimiter",
]
