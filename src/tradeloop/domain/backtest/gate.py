"""The significance gate: is a strategy's lockbox record better than luck, after N trials?

A strategy that passed the score gate on the research window is backtested on the lockbox (the
last sessions, which no ranking or generation step saw). Its daily returns there give:

* the **PSR** (probabilistic Sharpe ratio): the probability that the true Sharpe ratio beats
  ``benchmark_sharpe``, given the lockbox Sharpe, the number of sessions and the returns'
  skewness and kurtosis;
* the **DSR** (deflated Sharpe ratio): the same probability against the Sharpe ratio the best
  of ``trials`` strategies shows by luck alone (`expected_max_sharpe`), where ``trials`` counts
  every spec evaluated on the symbol and timeframe (this run and every earlier one in strategy
  memory) and the luck scales with how far their research Sharpe ratios scatter by chance
  (`TrialStats`).

It passes when PSR ≥ `min_probabilistic_sharpe`, DSR ≥ `min_deflated_sharpe`, and the lockbox
holds at least `min_lockbox_days` sessions and `min_lockbox_trades` trades. Every refusal says
why, in words (`GateCard.reasons`). Sharpe ratios shown are annualised over 252 sessions; the
statistics are computed on daily ones (`tradeloop.domain.backtest.significance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from tradeloop.domain.backtest.metrics import SESSIONS_PER_YEAR, session_returns
from tradeloop.domain.backtest.significance import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_moments,
)

if TYPE_CHECKING:
    from tradeloop.domain.backtest.result import BacktestResult
    from tradeloop.domain.backtest.scoring import ScoringConfig

_ANNUAL = math.sqrt(SESSIONS_PER_YEAR)


class TrialStats(BaseModel):
    """The strategies tried on one symbol and timeframe: how many, and how far apart their
    Sharpe ratios fall by luck alone.

    The DSR's expected maximum assumes N trials without skill whose Sharpe estimates scatter
    around 0 with variance V. The spread actually observed across a random search mixes that
    luck with real differences (a rule that trades ten times as often pays ten times the
    costs: on the demo's market the random 5m specs' Sharpe ratios centre near −4 with a spread
    of 2 to 3, annualised), so it overstates luck. V here is luck's share: the mean, over the
    trials that traded, of each one's sampling variance under normal returns,
    ``(1 + SR²/2) / (T − 1)`` (Lo 2002), with SR its daily research Sharpe ratio and T its
    number of daily returns. The observed spread is kept beside it (`observed_variance`).

    Attributes:
        trials: every spec evaluated (N in the DSR).
        sharpe_variance: V, the variance of a trial's daily Sharpe ratio by luck; NaN when no
            trial traded.
        observed_variance: the variance (ddof=1) of the trials' daily Sharpe ratios across
            the search; NaN when fewer than two traded.

    A spec that never trades has no Sharpe ratio (its returns are all 0): it counts as a trial
    but not in either variance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    trials: int
    sharpe_variance: float
    observed_variance: float = math.nan

    @classmethod
    def of(
        cls,
        annualised_sharpes: Sequence[float],
        trades: Sequence[int],
        sessions: Sequence[int],
    ) -> TrialStats:
        """From each trial's annualised research Sharpe ratio, trades and sessions."""
        rows = [
            (sharpe / _ANNUAL, days)
            for sharpe, n, days in zip(annualised_sharpes, trades, sessions, strict=True)
            if n > 0 and days > 1 and math.isfinite(sharpe)
        ]
        daily = np.array([sharpe for sharpe, _ in rows], dtype=float)
        count = np.array([days for _, days in rows], dtype=float)
        luck = float(np.mean((1.0 + daily**2 / 2.0) / (count - 1.0))) if rows else math.nan
        observed = float(np.var(daily, ddof=1)) if daily.size >= 2 else math.nan
        return cls(trials=len(annualised_sharpes), sharpe_variance=luck, observed_variance=observed)


class GateCard(BaseModel):
    """The lockbox numbers of one strategy, the significance gate's verdict and its reasons."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    lockbox_days: int
    lockbox_trades: int
    lockbox_sharpe: float
    lockbox_net_pnl: float
    lockbox_return_pct: float
    psr: float
    dsr: float
    trials: int
    expected_max_sharpe: float
    passed: bool
    reasons: tuple[str, ...]

    def numbers(self) -> dict[str, float]:
        """The card's numbers by name (for strategy memory and JSON)."""
        return {
            name: float(value)
            for name, value in self.model_dump().items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }


def significance_gate(
    lockbox: BacktestResult, trials: TrialStats, config: ScoringConfig
) -> GateCard:
    """Judge `lockbox` (a backtest over the lockbox sessions only) against luck after
    `trials.trials` strategies (see the module docstring)."""
    metrics = lockbox.metrics
    returns = session_returns(lockbox.session_equity, lockbox.config.capital)
    moments = sharpe_moments(returns)
    benchmark = config.benchmark_sharpe / _ANNUAL
    psr = probabilistic_sharpe_ratio(
        moments.sharpe, benchmark, moments.n, moments.skewness, moments.kurtosis
    )
    luck = expected_max_sharpe(trials.trials, trials.sharpe_variance)
    dsr = deflated_sharpe_ratio(
        moments.sharpe,
        moments.n,
        moments.skewness,
        moments.kurtosis,
        trials.trials,
        trials.sharpe_variance,
    )
    sharpe = moments.sharpe * _ANNUAL if math.isfinite(moments.sharpe) else 0.0
    reasons = _reasons(
        days=moments.n,
        trades=metrics.trades,
        sharpe=sharpe,
        psr=psr,
        dsr=dsr,
        luck=luck * _ANNUAL,
        trials=trials,
        config=config,
    )
    return GateCard(
        lockbox_days=moments.n,
        lockbox_trades=metrics.trades,
        lockbox_sharpe=sharpe,
        lockbox_net_pnl=metrics.net_pnl,
        lockbox_return_pct=metrics.return_pct,
        psr=psr,
        dsr=dsr,
        trials=trials.trials,
        expected_max_sharpe=luck * _ANNUAL,
        passed=not reasons,
        reasons=reasons,
    )


def _reasons(
    *,
    days: int,
    trades: int,
    sharpe: float,
    psr: float,
    dsr: float,
    luck: float,
    trials: TrialStats,
    config: ScoringConfig,
) -> tuple[str, ...]:
    reasons = []
    if days < config.min_lockbox_days:
        reasons.append(
            f"the lockbox holds {days} sessions, fewer than min_lockbox_days = "
            f"{config.min_lockbox_days}: research a longer history or raise lockbox_fraction"
        )
    if trades < config.min_lockbox_trades:
        reasons.append(
            f"only {trades} trades in the lockbox, fewer than min_lockbox_trades = "
            f"{config.min_lockbox_trades}: too few to tell skill from luck"
        )
    if not psr >= config.min_probabilistic_sharpe:  # NaN refuses
        reasons.append(
            f"PSR {_p(psr)} < {config.min_probabilistic_sharpe:.2f}: a lockbox Sharpe of "
            f"{sharpe:.2f} over {days} sessions is not reliably above the benchmark "
            f"{config.benchmark_sharpe:.2f}"
        )
    if not dsr >= config.min_deflated_sharpe:
        if math.isnan(trials.sharpe_variance) and trials.trials > 1:
            reasons.append(
                f"DSR unknown: none of the {trials.trials} strategies tried here has a research "
                "Sharpe ratio, so the luck of picking among them cannot be measured yet"
            )
        else:
            reasons.append(
                f"DSR {_p(dsr)} < {config.min_deflated_sharpe:.2f}: after {trials.trials:,} "
                f"strategies tried on this symbol and timeframe, luck alone shows a best Sharpe "
                f"of about {luck:.2f}; a lockbox Sharpe of {sharpe:.2f} is not clearly above it"
            )
    return tuple(reasons)


def _p(probability: float) -> str:
    return "unknown" if math.isnan(probability) else f"{probability:.2f}"
