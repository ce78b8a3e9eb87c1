"""The score card of a saved backtest, each number with the sentence that says what it means.

The meanings are those of `domain/backtest/scoring.py` and docs/backtesting.md ("Score",
"Research window, lockbox and the significance gate"); the thresholds are the `[strategy]`
settings the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradeloop.domain.backtest.scoring import ScoringConfig


@dataclass(frozen=True)
class GateLine:
    """One number of the score card: its label, its value as shown, and what it means."""

    label: str
    value: str
    meaning: str


def score_lines(score: dict[str, Any], scoring: ScoringConfig) -> list[GateLine]:
    """The score, its three components, the two thresholds and the verdict, explained."""
    components = score["components"]
    weights = (
        f"{scoring.weight_win_rate:g}, {scoring.weight_profit_factor:g} and "
        f"{scoring.weight_drawdown:g}"
    )
    verdict = "passed" if score["passed"] else "did not pass"
    return [
        GateLine(
            "score",
            f"{score['score']:.3f}",
            "One number from 0 to 1 that ranks strategies: the weighted mean of the win-rate "
            f"score, the profit-factor score and one minus the drawdown share (weights {weights}"
            "); 1 wins every trade with no drawdown, 0 never wins and loses everything.",
        ),
        GateLine(
            "win-rate score",
            f"{components['win_rate']:.3f}",
            "The share of trades that made money after costs (net P&L above 0).",
        ),
        GateLine(
            "profit-factor score",
            f"{components['profit_factor']:.3f}",
            "The profit factor (gross wins over gross losses) mapped onto 0 to 1: a losing "
            f"strategy (profit factor 1 or less) earns 0, a profit factor of "
            f"{scoring.profit_factor_cap:g} (profit_factor_cap) or more earns 1.",
        ),
        GateLine(
            "drawdown share",
            f"{components['max_drawdown']:.3f}",
            "The largest fall of equity from its running peak, as a share of that peak; the "
            "score counts one minus it, so no drawdown earns the whole drawdown term.",
        ),
        GateLine(
            "min_trades",
            str(scoring.min_trades),
            "With fewer trades than this the score is set to 0: too few trades to judge.",
        ),
        GateLine(
            "min_score",
            f"{scoring.min_score:.3f}",
            "The score gate: a strategy passes it with a score of at least this.",
        ),
        GateLine(
            "score gate",
            verdict,
            "Whether this backtest's score reached min_score with enough trades; the reasons "
            "below say why not. The score ranks and filters only: whether a result beats luck "
            "is the significance gate's question (PSR and deflated Sharpe on the lockbox), which "
            "a research run asks (`tradeloop research run`).",
        ),
    ]


def significance_lines(scoring: ScoringConfig) -> list[GateLine]:
    """The significance gate's thresholds, explained: a research run applies them on the
    lockbox, a single backtest does not (so they carry no measured value here)."""
    return [
        GateLine(
            "min_lockbox_days",
            str(scoring.min_lockbox_days),
            "Sessions the lockbox (the last sessions, held out from every ranking) must hold: "
            "the daily returns PSR and DSR are measured on.",
        ),
        GateLine(
            "min_lockbox_trades",
            str(scoring.min_lockbox_trades),
            "Trades the strategy must make in the lockbox.",
        ),
        GateLine(
            "min_probabilistic_sharpe",
            f"{scoring.min_probabilistic_sharpe:.2f}",
            "PSR needed: the probability that the true Sharpe ratio beats benchmark_sharpe "
            f"({scoring.benchmark_sharpe:g}), given the lockbox Sharpe, its number of sessions "
            "and the returns' skewness and kurtosis.",
        ),
        GateLine(
            "min_deflated_sharpe",
            f"{scoring.min_deflated_sharpe:.2f}",
            "DSR needed: the PSR against the best Sharpe ratio luck alone would give among all "
            "the strategies tried, i.e. the probability of skill once that choice is counted.",
        ),
    ]
