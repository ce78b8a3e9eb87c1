"""What the research tools of one agent run share: settings, the stores, and the run id.

Every backtest the agent runs is remembered in strategy memory under the agent's run id, so the
"remember" stage of the loop happens without a separate tool. Strategy memory replaces a run's
records as a whole (`remember(run_id, records)`), so the session keeps the run's records and
writes all of them each time: a repeated backtest replaces its record instead of adding one.
A session without a run id (a replay, a dry run) remembers nothing.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

import polars as pl

from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.research import Evaluation
from tradeloop.settings import Settings
from tradeloop.storage.candles import CandleStore, open_candle_store
from tradeloop.storage.memory import StrategyMemory, StrategyRecord, open_strategy_memory

_CANDLE_CACHE_SIZE = 2
CandleKey = tuple[str, date | None, date | None]


def utc_now() -> datetime:
    return datetime.now(UTC)


def backtest_config(settings: Settings, symbol: str) -> BacktestConfig:
    """The backtest config of `symbol` from the risk and execution settings."""
    # The one mapping from settings to a backtest config: flows/research.py uses it too.
    return BacktestConfig.for_symbol(
        symbol,
        capital=settings.risk.capital,
        risk_per_trade_pct=settings.risk.risk_per_trade_pct,
        slippage_bps=settings.execution.slippage_bps,
        max_notional_pct=settings.risk.max_capital_per_trade_pct,
    )


def scoring_config(settings: Settings) -> ScoringConfig:
    """The score's weights and gates from the `[strategy]` settings."""
    strategy = settings.strategy
    return ScoringConfig(
        weight_win_rate=strategy.score_weight_win_rate,
        weight_profit_factor=strategy.score_weight_profit_factor,
        weight_drawdown=strategy.score_weight_drawdown,
        min_trades=strategy.min_trades,
        min_score=strategy.min_score,
    )


def strategy_record(evaluation: Evaluation, run_id: str, evaluated_at: datetime) -> StrategyRecord:
    """The strategy-memory record of one evaluation (out-of-sample metrics only)."""
    metrics = evaluation.walk_forward.out_of_sample.metrics.model_dump()
    return StrategyRecord(
        run_id=run_id,
        evaluated_at=evaluated_at,
        spec_id=evaluation.spec.id,
        name=evaluation.spec.name,
        symbol=evaluation.spec.symbol,
        timeframe=evaluation.spec.timeframe,
        regime=evaluation.regime,
        window_start=evaluation.window_start,
        window_end=evaluation.window_end,
        score=evaluation.score.score,
        passed=evaluation.score.passed,
        reasons=evaluation.score.reasons,
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
        spec_json=json.dumps(evaluation.spec.model_dump(mode="json"), sort_keys=True),
    )


@dataclass
class ResearchSession:
    """The stores and settings behind the research tools of one run.

    Attributes:
        settings: backtest, scoring and cost settings.
        candles: where the 1m candles are read.
        memory: where evaluations are remembered and the best are read.
        run_id: the agent run's id; evaluations are remembered under it (None: not at all).
        now: the clock stamping remembered evaluations.
    """

    settings: Settings
    candles: CandleStore
    memory: StrategyMemory
    run_id: str | None = None
    now: Callable[[], datetime] = utc_now
    _records: dict[tuple[str, str], StrategyRecord] = field(default_factory=dict, repr=False)
    _candle_cache: OrderedDict[CandleKey, pl.DataFrame] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, run_id: str | None = None) -> ResearchSession:
        """The session on the stores under the settings' data directory."""
        return cls(settings, open_candle_store(settings), open_strategy_memory(settings), run_id)

    def backtest_config(self, symbol: str) -> BacktestConfig:
        return backtest_config(self.settings, symbol)

    @cached_property
    def scoring(self) -> ScoringConfig:
        return scoring_config(self.settings)

    @cached_property
    def cost_table(self) -> CostTable:
        return CostTable.load(self.settings.execution.costs_table)

    def minute_candles(self, symbol: str, start: date | None, end: date | None) -> pl.DataFrame:
        """1m candles of `symbol` from `start` to `end` (IST dates, both inclusive).

        The last windows read are kept: a research run backtests many specs on one window.
        """
        key = (symbol, start, end)
        with self._lock:
            if key in self._candle_cache:
                self._candle_cache.move_to_end(key)
                return self._candle_cache[key]
        first = ist_datetime(start, time(0, 0)) if start else None
        last = ist_datetime(end + timedelta(days=1), time(0, 0)) if end else None
        frame = self.candles.load(symbol, "1m", first, last)
        with self._lock:
            self._candle_cache[key] = frame
            while len(self._candle_cache) > _CANDLE_CACHE_SIZE:
                self._candle_cache.popitem(last=False)
        return frame

    def remember(self, evaluation: Evaluation) -> bool:
        """Remember `evaluation` under the run id; False when the session has none."""
        if self.run_id is None:
            return False
        record = strategy_record(evaluation, self.run_id, self.now())
        with self._lock:
            self._records[(record.spec_id, record.symbol)] = record
            records = list(self._records.values())
        self.memory.remember(self.run_id, records)
        return True
