"""Strategy-memory records for tests that deploy a spec: one that passed the gate."""

from __future__ import annotations

from datetime import UTC, datetime

from tradeloop.domain.strategy.spec import StrategySpec
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
