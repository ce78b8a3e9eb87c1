"""Research tasks: load a window, evaluate specs on it, remember the results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from prefect import task

from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.research import Evaluation, evaluate_specs
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.settings import Settings
from tradeloop.storage.candles import open_candle_store
from tradeloop.storage.memory import open_strategy_memory
from tradeloop.tasks.retry import only_transient
from tradeloop.tools.session import strategy_record


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient)
def load_minute_candles(
    settings: Settings, symbol: str, start: date | None, end: date | None
) -> pl.DataFrame:
    """1m candles of `symbol` from `start` to `end` (IST dates, both inclusive)."""
    first = ist_datetime(start, time(0, 0)) if start else None
    last = ist_datetime(end + timedelta(days=1), time(0, 0)) if end else None
    return open_candle_store(settings).load(symbol, "1m", first, last)


@task
def evaluate(
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    config: BacktestConfig,
    scoring: ScoringConfig,
    folds: int,
) -> list[Evaluation]:
    return evaluate_specs(specs, candles, config, scoring, folds)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient)
def remember(settings: Settings, run_id: str, evaluations: Sequence[Evaluation]) -> int:
    """Write every evaluation to strategy memory; a retry of the same run replaces, not adds."""
    now = datetime.now(UTC)
    records = [strategy_record(evaluation, run_id, now) for evaluation in evaluations]
    open_strategy_memory(settings).remember(run_id, records)
    return len(records)
