"""Walk-forward folds on session boundaries, and the score read from out-of-sample results."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import talib

from golden.backtest_frames import load_sample
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import (
    BacktestConfig,
    Metrics,
    ScoringConfig,
    plan_folds,
    run_backtest,
    run_walk_forward,
    run_walk_forward_batch,
    score_metrics,
    score_walk_forward,
)
from tradeloop.domain.costs import CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import UserError

COSTS = CostTable.bundled()

CONFIG = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE, risk_per_trade_pct=2.0)


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return load_sample()


def _rsi_signals(sample: pl.DataFrame, level: float, spec_id: str) -> Signals:
    close = sample["close"].to_numpy()
    n = len(close)
    rsi = talib.RSI(close, 14)
    entry = np.zeros(n, dtype=bool)
    entry[1:] = (rsi[1:] < level) & (rsi[:-1] >= level)
    return Signals(spec_id, 1, entry, np.zeros(n), 0.003, np.zeros(n), target_r=2.0)


def test_rolling_folds_split_on_session_boundaries(sample: pl.DataFrame) -> None:
    """40 sessions, 4 folds → 5 blocks of 8 sessions (600 5m bars each)."""
    plan = plan_folds(sample, 4, "rolling")
    assert [fold.number for fold in plan] == [1, 2, 3, 4]
    session = PriceArrays.from_candles(sample).session
    starts_of_sessions = {0, *(np.flatnonzero(np.diff(session)) + 1).tolist(), len(session)}
    for fold in plan:
        for part in (fold.in_sample, fold.out_of_sample):
            assert part.end - part.start == 600
            assert {part.start, part.end} <= starts_of_sessions
        assert fold.in_sample.end == fold.out_of_sample.start
    assert plan[0].out_of_sample.first_day.isoformat() == "2025-01-13"


def test_anchored_in_sample_grows_from_the_first_session(sample: pl.DataFrame) -> None:
    plan = plan_folds(sample, 3, "anchored")
    assert all(fold.in_sample.start == 0 for fold in plan)
    assert [fold.in_sample.end for fold in plan] == [fold.out_of_sample.start for fold in plan]
    assert plan[-1].out_of_sample.end == sample.height


def test_too_few_sessions_for_the_folds_is_refused(sample: pl.DataFrame) -> None:
    two_days = sample.head(150)
    with pytest.raises(UserError, match="needs at least 5 sessions, the window has 2"):
        plan_folds(two_days, 4)


def test_unknown_mode_and_zero_folds_are_refused(sample: pl.DataFrame) -> None:
    with pytest.raises(UserError, match="'sliding' is unknown"):
        plan_folds(sample, 4, "sliding")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="folds = 0"):
        plan_folds(sample, 0)


def test_walk_forward_parts_are_separate_backtests(sample: pl.DataFrame) -> None:
    signals = _rsi_signals(sample, 40, "rsi40")
    result = run_walk_forward(signals, sample, CONFIG, COSTS, folds=4)
    plan = plan_folds(sample, 4)
    for fold_metrics, fold in zip(result.folds, plan, strict=True):
        alone = run_backtest(
            signals,
            sample,
            CONFIG,
            COSTS,
            start=fold.out_of_sample.start,
            end=fold.out_of_sample.end,
        )
        assert fold_metrics.out_of_sample == alone.metrics
        assert fold_metrics.fold == fold
    combined = result.out_of_sample
    assert (combined.start, combined.end) == (plan[0].out_of_sample.start, sample.height)
    assert combined.metrics.bars == 4 * 600
    assert result.summary()["folds"][0]["fold"]["number"] == 1


def test_walk_forward_batch_equals_one_by_one(sample: pl.DataFrame) -> None:
    many = [_rsi_signals(sample, level, f"rsi{level}") for level in (30, 40, 50)]
    batch = run_walk_forward_batch(many, sample, CONFIG, COSTS, folds=3, mode="anchored")
    for signals, together in zip(many, batch, strict=True):
        alone = run_walk_forward(signals, sample, CONFIG, COSTS, folds=3, mode="anchored")
        assert together.folds == alone.folds
        assert together.out_of_sample.metrics == alone.out_of_sample.metrics


def _metrics(**values: float) -> Metrics:
    base = dict.fromkeys(Metrics.model_fields, 0)
    base.update(values)
    return Metrics.model_validate(base)


def test_default_score_formula() -> None:
    """win rate 0.4, PF 1.5 → (1.5 − 1) / (3 − 1) = 0.25, drawdown 10% → 0.1:
    (0.4 × 0.4 + 0.4 × 0.25 + 0.2 × (1 − 0.1)) / 1.0 = 0.44, below 0.5."""
    card = score_metrics(
        _metrics(trades=40, win_rate_pct=40, profit_factor=1.5, max_drawdown_pct=10),
        ScoringConfig(),
    )
    assert card.score == pytest.approx(0.44)
    assert card.components == pytest.approx(
        {"win_rate": 0.4, "profit_factor": 0.25, "max_drawdown": 0.1}
    )
    assert not card.passed
    assert card.reasons == ("score 0.440 is below min_score = 0.500",)


def test_the_best_possible_score_is_one_and_other_weights_keep_the_range() -> None:
    perfect = _metrics(trades=40, win_rate_pct=100, profit_factor=math.inf, max_drawdown_pct=0)
    assert score_metrics(perfect, ScoringConfig()).score == pytest.approx(1.0)
    heavy = ScoringConfig(weight_win_rate=3, weight_profit_factor=1, weight_drawdown=0)
    assert score_metrics(perfect, heavy).score == pytest.approx(1.0)


def test_a_trend_follower_with_a_real_edge_can_pass_the_score_gate() -> None:
    """35 % winners at PF 2.5 with a 10 % drawdown: 0.14 + 0.4 × 0.75 + 0.2 × 0.9 = 0.62."""
    metrics = _metrics(trades=60, win_rate_pct=35, profit_factor=2.5, max_drawdown_pct=10)
    card = score_metrics(metrics, ScoringConfig())
    assert card.score == pytest.approx(0.62) and card.passed


def test_strong_strategy_passes_the_gate() -> None:
    """0.4 × 0.8 + 0.4 × 1 (PF 3.5, capped) + 0.2 × 0.95 = 0.91."""
    metrics = _metrics(trades=50, win_rate_pct=80, profit_factor=3.5, max_drawdown_pct=5)
    card = score_metrics(metrics, ScoringConfig())
    assert card.score == pytest.approx(0.91)
    assert card.passed and card.reasons == ()


def test_too_few_trades_scores_zero_with_the_reason() -> None:
    card = score_metrics(
        _metrics(trades=12, win_rate_pct=90, profit_factor=math.inf), ScoringConfig()
    )
    assert card.score == 0.0
    assert not card.passed
    assert "only 12 out-of-sample trades, fewer than min_trades = 20" in card.reasons[0]
    assert card.components["profit_factor"] == 1.0


def test_weights_and_gates_come_from_config() -> None:
    config = ScoringConfig(
        weight_win_rate=1.0,
        weight_profit_factor=0.0,
        weight_drawdown=0.0,
        min_trades=5,
        min_score=0.5,
    )
    card = score_metrics(_metrics(trades=5, win_rate_pct=55, profit_factor=0.8), config)
    assert card.score == pytest.approx(0.55)
    assert card.passed


def test_score_never_negative_even_for_a_wipe_out() -> None:
    card = score_metrics(
        _metrics(trades=30, win_rate_pct=0, profit_factor=0, max_drawdown_pct=100),
        ScoringConfig(),
    )
    assert card.score == 0.0


def test_walk_forward_score_reads_out_of_sample_only(sample: pl.DataFrame) -> None:
    result = run_walk_forward(_rsi_signals(sample, 40, "rsi40"), sample, CONFIG, COSTS, folds=4)
    config = ScoringConfig(min_trades=1)
    assert score_walk_forward(result, config) == score_metrics(result.out_of_sample.metrics, config)
