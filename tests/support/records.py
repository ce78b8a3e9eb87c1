"""Records for tests of deployed specs: a strategy-memory record that passed the gate, and the
day's trades as the ledger holds them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tradeloop.app import stores
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.settings import load_settings
from tradeloop.storage.memory import StrategyRecord

EVALUATED_AT = datetime(2025, 3, 4, tzinfo=UTC)


def passed_record(spec: StrategySpec, *, run_id: str = "t") -> StrategyRecord:
    """`spec` as a research run that passed the significance gate would remember it."""
    return StrategyRecord(
        run_id=run_id,
        evaluated_at=EVALUATED_AT,
        spec_id=spec.id,
        name=spec.name,
        symbol=spec.symbol,
        timeframe=spec.timeframe,
        regime="range/normal-vol",
        window_start=datetime(2025, 2, 3, tzinfo=UTC),
        window_end=EVALUATED_AT,
        score=0.9,
        passed=True,
        spec_json=spec.to_json(),
        gate={"dsr": 0.99, "psr": 0.99},
    )


def day_trades(day: date) -> list[tuple[Any, ...]]:
    """The trades of `day` in the ledger the environment names: (strategy, entry and exit time,
    quantity, entry and exit price), sorted."""
    ledger = stores.ledger(load_settings())
    try:
        return sorted(
            (t.strategy_id, t.entry_time, t.exit_time, t.quantity, t.entry_price, t.exit_price)
            for t in ledger.trades(day)
        )
    finally:
        ledger.close()
