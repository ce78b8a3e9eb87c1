"""The backtest engine: exact fill rules, Indian costs, metrics, walk-forward and scoring.

The rules are documented in docs/backtesting.md; each one has a hand-worked test in
tests/golden/.

The names below load on first use, so reading a config (the settings do) does not compile or
import the numba kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "BacktestConfig": "config",
    "BacktestResult": "result",
    "ExitReason": "config",
    "Fold": "walkforward",
    "FoldMetrics": "walkforward",
    "Metrics": "metrics",
    "ScoreCard": "scoring",
    "ScoringConfig": "scoring",
    "WalkForwardResult": "walkforward",
    "market_arrays": "engine",
    "plan_folds": "walkforward",
    "run_backtest": "engine",
    "run_batch": "batch",
    "run_walk_forward": "walkforward",
    "run_walk_forward_batch": "walkforward",
    "score_metrics": "scoring",
    "score_walk_forward": "scoring",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tradeloop.domain.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tradeloop.domain.backtest.{home}"), name)
