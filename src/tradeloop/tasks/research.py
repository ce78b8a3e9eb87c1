"""Research tasks: load a window, evaluate specs on it, remember the results.

Each task asks the composition root for what the settings configure (`tradeloop.app`), so a
flow run on a worker uses that worker's settings and data directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from prefect import task

from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.clock import utc_now
from tradeloop.domain.research import Evaluation
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.settings import Settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.retry import only_transient


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient)
def load_minute_candles(
    settings: Settings, symbol: str, start: date | None, end: date | None
) -> pl.DataFrame:
    """1m candles of `symbol` from `start` to `end` (IST dates, both inclusive)."""
    return research_context(settings).minute_candles(symbol, start, end)


@task
def evaluate(
    settings: Settings, specs: Sequence[StrategySpec], candles: pl.DataFrame, folds: int | None
) -> list[Evaluation]:
    """Walk `specs` forward and score them, with the settings' costs, sizing and scoring."""
    return research_context(settings).evaluate(specs, candles, folds)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient)
def remember(settings: Settings, run_id: str, evaluations: Sequence[Evaluation]) -> int:
    """Write every evaluation to strategy memory; a retry of the same run replaces, not adds."""
    now = utc_now()
    records = [StrategyRecord.of(evaluation, run_id, now) for evaluation in evaluations]
    stores.strategy_memory(settings).remember(run_id, records)
    return len(records)
