"""One number per strategy, from out-of-sample metrics only, and whether it passes `min_score`.

    score = w_win_rate · win_rate + w_profit_factor · pf_norm − w_drawdown · drawdown_norm

clipped to [0, 1], where each term is normalised to [0, 1]:

* ``win_rate``      = winning trades / trades (net P&L > 0);
* ``pf_norm``       = clip((profit_factor − 1) / (profit_factor_cap − 1), 0, 1): a losing
  strategy (PF <= 1) earns nothing here, PF >= cap (default 3) earns everything;
* ``drawdown_norm`` = clip(max drawdown / peak equity, 0, 1).

With fewer than `min_trades` out-of-sample trades the score is 0 (too few to judge). A strategy
passes when its score is at least `min_score`. The default weights (0.4, 0.4, 0.2) come from
`[strategy]` in the settings; with them the best possible score is 0.8.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    # Annotations only: reading the config (the settings do) must not load the kernels.
    from tradeloop.domain.backtest.metrics import Metrics
    from tradeloop.domain.backtest.walkforward import WalkForwardResult


class ScoringConfig(BaseModel):
    """How a strategy is judged: the walk-forward folds, the score's weights and the gates.

    This model is the `[strategy]` section of the settings (`Settings.strategy`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    weight_win_rate: float = Field(0.4, ge=0, description="Weight of the win rate in the score.")
    weight_profit_factor: float = Field(
        0.4, ge=0, description="Weight of the normalised profit factor in the score."
    )
    weight_drawdown: float = Field(
        0.2, ge=0, description="Weight of the drawdown penalty in the score."
    )
    min_trades: int = Field(20, ge=1, description="Out-of-sample trades needed to score.")
    min_score: float = Field(0.65, ge=0, le=1, description="Score needed to pass.")
    profit_factor_cap: float = Field(
        3.0, gt=1, description="Profit factor that earns the whole profit-factor term."
    )
    walk_forward_folds: int = Field(
        4, ge=2, le=20, description="Walk-forward folds whose test blocks are scored."
    )


class ScoreCard(BaseModel):
    """The score, its normalised components, whether it passed, and why not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float
    components: dict[str, float]
    passed: bool
    reasons: tuple[str, ...]


def score_metrics(metrics: Metrics, config: ScoringConfig) -> ScoreCard:
    """Score out-of-sample metrics (see the module docstring for the formula)."""
    win_rate = metrics.win_rate_pct / 100.0
    profit_factor = _normalised_profit_factor(metrics.profit_factor, config.profit_factor_cap)
    drawdown = min(max(metrics.max_drawdown_pct / 100.0, 0.0), 1.0)
    components = {
        "win_rate": win_rate,
        "profit_factor": profit_factor,
        "max_drawdown": drawdown,
    }
    raw = (
        config.weight_win_rate * win_rate
        + config.weight_profit_factor * profit_factor
        - config.weight_drawdown * drawdown
    )
    reasons: list[str] = []
    if metrics.trades < config.min_trades:
        score = 0.0
        reasons.append(
            f"only {metrics.trades} out-of-sample trades, fewer than min_trades = "
            f"{config.min_trades}: score set to 0 (test a longer window or a more active rule)"
        )
    else:
        score = min(max(raw, 0.0), 1.0)
        if score < config.min_score:
            reasons.append(f"score {score:.3f} is below min_score = {config.min_score:.3f}")
    return ScoreCard(score=score, components=components, passed=not reasons, reasons=tuple(reasons))


def score_walk_forward(result: WalkForwardResult, config: ScoringConfig) -> ScoreCard:
    """Score a walk-forward on its continuous out-of-sample backtest only."""
    return score_metrics(result.out_of_sample.metrics, config)


def _normalised_profit_factor(profit_factor: float, cap: float) -> float:
    if math.isnan(profit_factor):
        return 0.0
    if math.isinf(profit_factor):
        return 1.0
    return min(max((profit_factor - 1.0) / (cap - 1.0), 0.0), 1.0)
