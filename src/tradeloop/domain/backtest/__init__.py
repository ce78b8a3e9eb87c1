"""The backtest engine: exact fill rules, Indian costs, metrics, walk-forward and scoring.

The rules are documented in docs/backtesting.md; each one has a hand-worked test in
tests/golden/.
"""

from tradeloop.domain.backtest.batch import run_batch
from tradeloop.domain.backtest.config import BacktestConfig, ExitReason
from tradeloop.domain.backtest.engine import market_arrays, run_backtest
from tradeloop.domain.backtest.metrics import Metrics
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.backtest.scoring import (
    ScoreCard,
    ScoringConfig,
    score_metrics,
    score_walk_forward,
)
from tradeloop.domain.backtest.walkforward import (
    Fold,
    FoldMetrics,
    WalkForwardResult,
    plan_folds,
    run_walk_forward,
    run_walk_forward_batch,
)

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "ExitReason",
    "Fold",
    "FoldMetrics",
    "Metrics",
    "ScoreCard",
    "ScoringConfig",
    "WalkForwardResult",
    "market_arrays",
    "plan_folds",
    "run_backtest",
    "run_batch",
    "run_walk_forward",
    "run_walk_forward_batch",
    "score_metrics",
    "score_walk_forward",
]
