"""Build the live `DhanBroker` from `Settings`.

This does not check the live-trading switches (`TRADELOOP_TRADING_MODE`, `TRADELOOP_LIVE_CONFIRM`):
the order gateway owns that gate. It only refuses to build a broker without credentials.
"""

from __future__ import annotations

from tradeloop.adapters.dhan.broker import DEFAULT_TIMEOUT_SECONDS, DhanBroker
from tradeloop.adapters.ratelimit import RateLimiter
from tradeloop.domain.costs import CostTable
from tradeloop.errors import ConfigError
from tradeloop.settings import Settings


def dhan_broker_from_settings(
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    rate_limiter: RateLimiter | None = None,
) -> DhanBroker:
    """A `DhanBroker` for the configured account; `ConfigError` naming what is missing.

    Its fills are charged from the cost table `[execution] costs_table` (default: bundled).
    """
    missing = []
    client_id = (settings.dhan_client_id or "").strip()
    if not client_id:
        missing.append("TRADELOOP_DHAN_CLIENT_ID (your Dhan client id)")
    token = settings.dhan_access_token
    if token is None or not token.get_secret_value().strip():
        missing.append("TRADELOOP_DHAN_ACCESS_TOKEN (an access token from web.dhan.co)")
    if missing or token is None:
        raise ConfigError(
            "the Dhan broker needs credentials; set "
            + " and ".join(missing)
            + " in the environment or .env"
        )
    return DhanBroker(
        client_id,
        token,
        base_url=settings.dhan_base_url,
        timeout=timeout,
        rate_limiter=rate_limiter,
        cost_table=CostTable.load(settings.execution.costs_table),
    )
