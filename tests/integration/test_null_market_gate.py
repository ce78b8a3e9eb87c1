"""On a market with no edge, the significance gate passes nothing (issue 13).

240 random NIFTY specs on a year of the null (random-walk) market, ranked on the research window.
The score gate is opened wide (min_score 0) so that every spec with enough trades reaches the
lockbox: the significance gate alone must refuse them all, with the trials counted honestly.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.gate import GateCard, TrialStats
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.research import evaluate_specs, gate_specs, split_lockbox
from tradeloop.domain.strategy.generators import planted_edge_spec, random_specs
from tradeloop.domain.strategy.spec import StrategySpec

pytestmark = pytest.mark.slow


def _passes(
    candles: pl.DataFrame, specs: list[StrategySpec], scoring: ScoringConfig
) -> tuple[list[str], list[GateCard]]:
    """A research run's evaluate → score gate → significance gate, as the flow runs it: the
    ids of the specs that pass, and the gate cards of every candidate."""
    config = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE)
    costs = CostTable.bundled()
    lockbox = split_lockbox(candles, scoring.lockbox_fraction)
    assert lockbox.start is not None
    evaluations = evaluate_specs(specs, lockbox.research, config, scoring, costs, folds=4)
    metrics = [e.walk_forward.out_of_sample.metrics for e in evaluations]
    trials = TrialStats.of(
        [m.sharpe for m in metrics], [m.trades for m in metrics], [m.sessions for m in metrics]
    )
    candidates = [e.spec for e in evaluations if e.score.passed]
    cards = gate_specs(candidates, candles, lockbox.start, config, costs, scoring, {"5m": trials})
    passed = [spec.id for spec, card in zip(candidates, cards, strict=True) if card.passed]
    return passed, cards


@pytest.mark.parametrize("seed", [7, 21])
def test_no_random_spec_passes_the_gate_on_the_null_market(seed: int) -> None:
    candles = generate_market("NIFTY", days=250, start=date(2025, 1, 1), seed=seed).candles
    specs = [s for s in random_specs(seed, 300, "NIFTY", "5m") if s.instrument.kind != "option"]
    assert len(specs) >= 200
    passed, cards = _passes(candles, specs, ScoringConfig(min_score=0.0))
    assert len(cards) >= 50, "the gate must be exercised, not bypassed by the score"
    assert passed == []
    assert all(card.reasons for card in cards)


@pytest.mark.parametrize("seed", [7, 1, 2])
def test_the_planted_edge_passes_at_the_default_strength(seed: int) -> None:
    """Two years of the planted market (the demo's), the targeting template among 300 random
    specs: it passes the score gate and the significance gate on every seed, and only it."""
    candles = generate_market(
        "NIFTY", days=500, start=date(2025, 1, 1), seed=seed, regime="planted"
    ).candles
    target = planted_edge_spec("NIFTY")
    randoms = random_specs(seed, 300, "NIFTY", "5m")
    specs = [target, *(s for s in randoms if s.instrument.kind != "option")]
    passed, _ = _passes(candles, specs, ScoringConfig())
    assert passed == [target.id]
