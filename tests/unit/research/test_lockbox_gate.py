"""The lockbox and the significance gate (issue 13).

* The research window is every session before the lockbox: changing the lockbox's prices leaves
  the ranking (and the specs generated) exactly as they were; only the gate's numbers move.
* The gate refuses with a reason for each failed rule, in words; a short lockbox, few trades, a
  PSR or a DSR below its minimum each name themselves.
* More trials never make passing easier.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from support.contracts import NIFTY_FUTURE, sample_contracts
from tradeloop.app.research import ResearchContext
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.gate import TrialStats
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.research import gate_specs, rank, split_lockbox
from tradeloop.domain.strategy.generators import planted_edge_spec, random_specs
from tradeloop.errors import NotFoundError
from tradeloop.storage.memory import StrategyRecord

SCORING = ScoringConfig(walk_forward_folds=2)
COSTS = CostTable.bundled()
CONFIG = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE)


@pytest.fixture(scope="module")
def candles() -> pl.DataFrame:
    return generate_market(
        "NIFTY", days=60, start=date(2025, 1, 1), seed=5, regime="planted", edge_strength=0.7
    ).candles


def _sessions(frame: pl.DataFrame) -> int:
    return frame["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date().n_unique()


def test_the_lockbox_is_the_last_sessions_and_the_research_window_the_rest(
    candles: pl.DataFrame,
) -> None:
    lockbox = split_lockbox(candles, 0.2)
    assert lockbox.sessions == 12 and _sessions(lockbox.research) == 48
    assert lockbox.start is not None
    assert lockbox.research["ts"].max() < lockbox.start
    assert candles.filter(pl.col("ts") >= lockbox.start).height == 12 * 375


def test_a_window_of_one_session_has_no_lockbox(candles: pl.DataFrame) -> None:
    one = candles.head(375)
    lockbox = split_lockbox(one, 0.2)
    assert lockbox.start is None and lockbox.research.height == 375


def _evaluate(candles: pl.DataFrame) -> list[str]:
    from tradeloop.domain.research import evaluate_specs

    specs = [planted_edge_spec("NIFTY"), *random_specs(3, 40, "NIFTY", "5m")]
    specs = [spec for spec in specs if spec.instrument.kind != "option"]
    research = split_lockbox(candles, 0.2).research
    evaluations = evaluate_specs(specs, research, CONFIG, SCORING, COSTS, folds=2)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = rank([StrategyRecord.of(e, "run", at).leaderboard_row() for e in evaluations])
    return [row.spec_id for row in rows]


def test_changing_the_lockbox_prices_leaves_the_ranking_and_the_specs_unchanged(
    candles: pl.DataFrame,
) -> None:
    lockbox = split_lockbox(candles, 0.2)
    assert lockbox.start is not None
    held = pl.col("ts") >= lockbox.start
    shocked = candles.with_columns(
        [
            pl.when(held).then(pl.col(c) * 1.07).otherwise(pl.col(c)).alias(c)
            for c in ("open", "high", "low", "close")
        ]
    )
    assert _evaluate(candles) == _evaluate(shocked)
    assert random_specs(3, 40, "NIFTY", "5m") == random_specs(3, 40, "NIFTY", "5m")

    trials = {"5m": TrialStats(trials=50, sharpe_variance=0.004)}
    spec = [planted_edge_spec("NIFTY")]
    before = gate_specs(spec, candles, lockbox.start, CONFIG, COSTS, SCORING, trials)[0]
    after = gate_specs(spec, shocked, lockbox.start, CONFIG, COSTS, SCORING, trials)[0]
    assert before.lockbox_net_pnl != after.lockbox_net_pnl  # the gate did see the change


def test_the_gate_names_each_rule_it_refuses(candles: pl.DataFrame) -> None:
    lockbox = split_lockbox(candles, 0.2)
    assert lockbox.start is not None
    strict = SCORING.model_copy(update={"min_lockbox_days": 30, "min_lockbox_trades": 500})
    trials = {"5m": TrialStats(trials=5_000, sharpe_variance=0.04)}
    card = gate_specs(
        [planted_edge_spec("NIFTY")], candles, lockbox.start, CONFIG, COSTS, strict, trials
    )[0]
    text = " | ".join(card.reasons)
    assert not card.passed
    assert "the lockbox holds 12 sessions, fewer than min_lockbox_days = 30" in text
    assert f"only {card.lockbox_trades} trades in the lockbox" in text
    assert "DSR" in text and "after 5,000 strategies tried" in text
    assert card.trials == 5_000 and card.lockbox_days == 12


def test_more_trials_never_make_passing_easier(candles: pl.DataFrame) -> None:
    lockbox = split_lockbox(candles, 0.2)
    assert lockbox.start is not None
    spec = [planted_edge_spec("NIFTY")]
    dsrs = []
    for n in (1, 2, 10, 100, 1_000, 10_000):
        trials = {"5m": TrialStats(trials=n, sharpe_variance=0.002)}
        card = gate_specs(spec, candles, lockbox.start, CONFIG, COSTS, SCORING, trials)[0]
        dsrs.append(card.dsr)
    assert all(later <= earlier for earlier, later in itertools.pairwise(dsrs))
    assert dsrs[0] > dsrs[-1]


def test_trial_stats_count_every_spec_but_measure_luck_on_those_that_traded() -> None:
    stats = TrialStats.of([1.0, 2.0, 3.0, 0.0], [10, 5, 7, 0], [101, 101, 51, 101])
    assert stats.trials == 4
    daily = np.array([1.0, 2.0, 3.0]) / math.sqrt(252)
    luck = (1 + daily**2 / 2) / np.array([100, 100, 50])
    assert stats.sharpe_variance == pytest.approx(float(luck.mean()))
    assert stats.observed_variance == pytest.approx(float(np.var(daily, ddof=1)))
    one = TrialStats.of([1.0], [3], [60])
    assert one.sharpe_variance == pytest.approx((1 + 1 / 252 / 2) / 59)
    assert math.isnan(one.observed_variance)
    assert math.isnan(TrialStats.of([0.0], [0], [60]).sharpe_variance)


def test_the_research_context_gates_with_its_own_costs_and_scoring(
    candles: pl.DataFrame,
) -> None:
    from tradeloop.domain.market.calendar import NSECalendar
    from tradeloop.domain.risk.limits import RiskLimits
    from tradeloop.storage.candles import InMemoryCandleStore

    calendar = NSECalendar.default()
    context = ResearchContext(
        risk=RiskLimits(),
        slippage_bps=2.0,
        scoring=SCORING,
        costs=COSTS,
        calendar=calendar,
        candles=InMemoryCandleStore(calendar),
        contracts=sample_contracts(),
        option_market=_no_implied_volatility,
    )
    lockbox = split_lockbox(candles, SCORING.lockbox_fraction)
    assert lockbox.start is not None
    trials = {"5m": TrialStats(trials=1, sharpe_variance=math.nan)}
    [card] = context.gate([planted_edge_spec("NIFTY")], candles, lockbox.start, trials)
    assert card.trials == 1 and card.expected_max_sharpe == 0.0
    assert card.dsr == pytest.approx(card.psr)  # one trial: nothing to deflate, benchmark 0


def _no_implied_volatility(symbol: str, day: date) -> OptionMarket:
    raise NotFoundError(f"no {symbol} implied volatility in this test: it gates an index spec")
