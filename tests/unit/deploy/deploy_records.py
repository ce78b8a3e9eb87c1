"""Research records for the deployment tests: gated `StrategyRecord`s with chosen scores."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from tradeloop.storage.memory import StrategyRecord

EVALUATED_AT = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
DEPLOYED_AT = datetime(2026, 3, 2, 13, 45, tzinfo=UTC)  # 19:15 IST


def record(
    spec_id: str,
    score: float,
    *,
    passed: bool = True,
    name: str | None = None,
    symbol: str = "NIFTY",
    run_id: str = "run-1",
    take_profit: bool = True,
) -> StrategyRecord:
    """A record of `spec_id` after the significance gate (its lockbox numbers when passed)."""
    name = name or f"spec-{spec_id}"
    gate = (
        {"psr": 0.99, "dsr": 0.96, "lockbox_sharpe": 2.1, "lockbox_trades": 31.0, "trials": 40.0}
        if passed
        else {}
    )
    exits = {
        "stop_loss": {"kind": "atr", "multiple": 1.5},
        "take_profit": {"kind": "r_multiple", "r": 2} if take_profit else None,
    }
    return StrategyRecord(
        run_id=run_id,
        evaluated_at=EVALUATED_AT,
        spec_id=spec_id,
        name=name,
        symbol=symbol,
        timeframe="5m",
        regime="trending-up/high-vol",
        window_start=datetime(2025, 1, 1, 3, 45, tzinfo=UTC),
        window_end=datetime(2025, 12, 31, 10, 0, tzinfo=UTC),
        score=score,
        passed=passed,
        reasons=() if passed else ("DSR 0.41 < 0.95",),
        metrics={"sharpe": 1.8, "trades": 120.0, "profit_factor": math.inf},
        spec_json=json.dumps({"spec_version": 1, "name": name, "symbol": symbol, "exit": exits}),
        gate=gate,
    )
