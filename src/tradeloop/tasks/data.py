"""Data tasks: synthesize and store candles."""

from __future__ import annotations

from datetime import date

from prefect import task

from tradeloop.app import stores
from tradeloop.domain.market.planted import DEFAULT_EDGE_STRENGTH, MarketRegime
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import Settings
from tradeloop.storage.candles import WriteReport
from tradeloop.tasks.retry import only_transient


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient)
def synthesize_symbol(
    settings: Settings,
    symbol: str,
    days: int,
    start: date,
    seed: int,
    regime: MarketRegime = "null",
    edge_strength: float = DEFAULT_EDGE_STRENGTH,
) -> WriteReport:
    """Generate a deterministic synthetic market for `symbol` and upsert it into the store."""
    market = generate_market(
        symbol, days=days, start=start, seed=seed, regime=regime, edge_strength=edge_strength
    )
    stores.volatility_store(settings).write(market.implied_volatility)
    return stores.candle_store(settings).write(market.candles)
