"""Two research runs in a data dir's strategy memory, written as the research flow writes
them (batches, a gate part, a note of what the second run reused), without running it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tradeloop.storage.memory import ParquetStrategyMemory, StrategyRecord

FIRST_RUN = "0b6f1a52-6c1e-4bd4-9a8e-5f0f3f6d1c01"
SECOND_RUN = "7d3c2e11-94b0-4c55-8f7e-2a1b9c0d4e02"
EVALUATED = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # 15:30 IST
SPECS = 24  # the first run's; the second reuses them all and adds one


def _record(index: int, run_id: str, at: datetime, score: float) -> StrategyRecord:
    return StrategyRecord(
        run_id=run_id,
        evaluated_at=at,
        spec_id=f"{index:04d}abcdef0123456789",
        name=f"nifty_random_7_{index:04d}_5m",
        symbol="NIFTY",
        timeframe="5m",
        regime="trending-up/normal-vol",
        window_start=at - timedelta(days=300),
        window_end=at,
        score=score,
        passed=False,
        reasons=(f"score {score:.3f} is below min_score = 0.500",),
        metrics={
            "trades": 30.0 + index,
            "win_rate_pct": 40.0 + index,
            "profit_factor": 1.0 + index / 20,
            "sharpe": index / 10,
            "max_drawdown_pct": 12.5,
            "net_pnl": 1000.0 * index,
        },
        spec_json="{}",
    )


def remember_two_runs(data_dir: Path) -> ParquetStrategyMemory:
    """The first run ranks `SPECS` specs (one NaN score, eight through the score gate, one of
    them through the lockbox); the second reuses them all and evaluates one more."""
    memory = ParquetStrategyMemory(data_dir / "memory")
    scores = [math.nan if index == 3 else (index % 12) / 16 for index in range(SPECS)]
    first = [_record(i, FIRST_RUN, EVALUATED, score) for i, score in enumerate(scores)]
    memory.remember(FIRST_RUN, first[:12], part="NIFTY.00000")
    memory.remember(FIRST_RUN, first[12:], part="NIFTY.00001")
    gated_at = EVALUATED + timedelta(minutes=2)
    candidates = [record for record in first if record.score >= 0.5]
    verdicts = [
        record.model_copy(
            update={
                "evaluated_at": gated_at,
                "passed": place == 0,
                "reasons": () if place == 0 else ("DSR 0.41 < 0.95",),
                "gate": {"dsr": 0.97 if place == 0 else 0.41, "trials": float(SPECS)},
            }
        )
        for place, record in enumerate(candidates)
    ]
    memory.remember(FIRST_RUN, verdicts, part="NIFTY.gate")
    later = EVALUATED + timedelta(days=1)
    memory.remember(SECOND_RUN, [_record(SPECS, SECOND_RUN, later, 0.3)], part="NIFTY.00000")
    reused = memory.run_records(FIRST_RUN)  # as the first run left them
    memory.remember_reused(SECOND_RUN, reused, at=later + timedelta(minutes=1))
    return memory
