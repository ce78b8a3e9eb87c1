"""One number per strategy, from out-of-sample metrics only, to rank by; and the score gate.

The seed's weighted score (0.4·win rate + 0.4·profit factor − 0.2·drawdown), normalised so the
best possible value is 1.0::

    score = (w_win_rate · win_rate + w_profit_factor · pf_norm + w_drawdown · (1 − drawdown_norm))
            / (w_win_rate + w_profit_factor + w_drawdown)

where each term is normalised to [0, 1], so the score is in [0, 1]:

* ``win_rate``      = winning trades / trades (net P&L > 0);
* ``pf_norm``       = clip((profit_factor − 1) / (profit_factor_cap − 1), 0, 1): a losing
  strategy (PF <= 1) earns nothing here, PF >= cap (default 3) earns everything;
* ``drawdown_norm`` = clip(max drawdown / peak equity, 0, 1): no drawdown earns the whole
  drawdown term, losing everything earns none of it.

1.0 is a strategy that wins every trade (so PF = ∞) with no drawdown; 0 is one that never wins
and loses everything. Subtracting the drawdown (the seed's form) or adding its complement ranks
every strategy in the same order: they differ by a constant. With the default weights
(0.4, 0.4, 0.2), a trend follower winning 35 % of trades at PF 2.5 with a 10 % drawdown scores
(0.14 + 0.30 + 0.18) = 0.62; a mean-reverter winning 60 % at PF 1.5 with a 5 % drawdown, 0.53.

With fewer than `min_trades` out-of-sample trades the score is 0 (too few to judge). The score
gate passes at `min_score` or more. It ranks and filters; whether a result is better than luck
is the significance gate's question (`tradeloop.domain.research_gate`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    min_score: float = Field(
        0.5, ge=0, le=1, description="Score needed to pass the score gate (0..1)."
    )
    profit_factor_cap: float = Field(
        3.0, gt=1, description="Profit factor that earns the whole profit-factor term."
    )
    walk_forward_folds: int = Field(
        4, ge=2, le=20, description="Walk-forward folds whose test blocks are scored."
    )
    lockbox_fraction: float = Field(
        0.2,
        ge=0.05,
        le=0.5,
        description="Share of the last sessions held out as the lockbox the gate measures on.",
    )
    min_deflated_sharpe: float = Field(
        0.95, ge=0.5, lt=1, description="Deflated Sharpe ratio needed on the lockbox."
    )
    min_probabilistic_sharpe: float = Field(
        0.95, ge=0.5, lt=1, description="PSR against benchmark_sharpe needed on the lockbox."
    )
    benchmark_sharpe: float = Field(
        0.0, ge=0, le=10, description="Annualised Sharpe ratio the PSR is measured against."
    )
    min_lockbox_trades: int = Field(10, ge=1, description="Trades needed in the lockbox.")
    min_lockbox_days: int = Field(
        20,
        ge=2,
        description="Sessions the lockbox must hold: the daily returns PSR and DSR measure.",
    )

    @model_validator(mode="after")
    def _some_weight(self) -> ScoringConfig:
        if self.weight_win_rate + self.weight_profit_factor + self.weight_drawdown <= 0:
            raise ValueError(
                "weight_win_rate, weight_profit_factor and weight_drawdown are all 0: give at "
                "least one a positive weight"
            )
        return self


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
    weights = config.weight_win_rate + config.weight_profit_factor + config.weight_drawdown
    raw = (
        config.weight_win_rate * win_rate
        + config.weight_profit_factor * profit_factor
        + config.weight_drawdown * (1.0 - drawdown)
    ) / weights
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
