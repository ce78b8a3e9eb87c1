"""What strategy memory knows of each run: the records a run ranked (its own, and the earlier
runs' records it reused, noted rather than stored again) and a run's summary.

`memory.py`'s queries (`run_records`, `runs`) use these on the frames a memory reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from tradeloop.storage.memory import StrategyRecord

# A run's note of the records it reused: which record (its run, spec, symbol and time), and when.
REUSED_SCHEMA: dict[str, pl.DataType] = {
    "ranked_in": pl.String(),
    "run_id": pl.String(),
    "spec_id": pl.String(),
    "symbol": pl.String(),
    "evaluated_at": pl.Datetime("us", "UTC"),
    "seen_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class RunSummary:
    """One run in strategy memory: its id, its last record's time (UTC), how many specs it
    ranked and how many of them passed the significance gate."""

    run_id: str
    last_at: datetime
    specs: int
    passed: int


def reused_frame(run_id: str, records: Sequence[StrategyRecord], at: datetime) -> pl.DataFrame:
    rows = [
        {
            "ranked_in": run_id,
            "run_id": record.run_id,
            "spec_id": record.spec_id,
            "symbol": record.symbol,
            "evaluated_at": record.evaluated_at,
            "seen_at": at,
        }
        for record in records
    ]
    return pl.DataFrame(rows, schema=REUSED_SCHEMA)


def by_run(records: pl.DataFrame, reused: pl.DataFrame) -> pl.DataFrame:
    """Each run's leaderboard records: every research record under the run it was ranked in
    (`ranked_in`: its own run, or a run that reused it) and when that run saw it (`seen_at`),
    then each (run, spec, symbol)'s latest, as `_select` picks across runs; at the same instant
    a gate verdict stands over the evaluation it judged."""
    research = records.filter(pl.col("source") == "backtest")
    own = research.with_columns(ranked_in=pl.col("run_id"), seen_at=pl.col("evaluated_at"))
    borrowed = reused.join(research, on=["run_id", "spec_id", "symbol", "evaluated_at"])
    return (
        pl.concat([own, borrowed.select(own.columns)])
        .sort(["evaluated_at", pl.col("gate") != "{}"], descending=[True, True])
        .unique(["ranked_in", "spec_id", "symbol"], keep="first", maintain_order=True)
    )
