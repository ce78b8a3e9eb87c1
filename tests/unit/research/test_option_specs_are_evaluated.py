"""Option specs are evaluated beside index specs: walked forward in the option they buy, or
refused by name when no option model is at hand."""

from __future__ import annotations

import dataclasses
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest

from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.options import OptionBacktest
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.research import evaluate_specs, evaluation_context_key
from tradeloop.domain.strategy.spec import load_spec
from tradeloop.errors import SpecError

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
PUTS = load_spec(EXAMPLES / "nifty_macd_puts_5m.json")
CROSS = load_spec(EXAMPLES / "nifty_ema_cross_15m.json")
MARKET = generate_market("NIFTY", days=30, start=date(2025, 2, 3), seed=5)
CONFIG = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE)


def _options() -> OptionBacktest:
    iv = MARKET.implied_volatility
    market = OptionMarket(
        symbol="NIFTY",
        strike_step=50.0,
        expiries=ExpiryCalendar(bundled_expiry_rules(), NSECalendar.default()),
        iv_days=iv["day"].to_numpy().astype("datetime64[D]"),
        iv=iv["iv"].to_numpy(),
        rate=0.065,
        dividend_yield=0.0,
        smile=Smile(),
        expiry_square_off=time(15, 15),
    )
    facts = ContractFacts("NIFTY", ContractKind.PE, 75, 0.05, "tests")
    return OptionBacktest(BacktestConfig.for_option("NIFTY", facts), market)


def test_without_an_option_model_option_specs_are_refused_by_name() -> None:
    with pytest.raises(SpecError, match=r"nifty_macd_puts_5m.*trade options"):
        evaluate_specs(
            [CROSS, PUTS], MARKET.candles, CONFIG, ScoringConfig(), CostTable.bundled(), folds=2
        )


def test_option_and_index_specs_are_evaluated_together_in_the_order_given() -> None:
    options = _options()
    evaluations = evaluate_specs(
        [PUTS, CROSS],
        MARKET.candles,
        CONFIG,
        ScoringConfig(),
        CostTable.bundled(),
        folds=2,
        options=options,
    )
    assert [e.spec.id for e in evaluations] == [PUTS.id, CROSS.id]
    puts, cross = (e.walk_forward.out_of_sample for e in evaluations)
    assert puts.config.instrument_kind is InstrumentKind.OPTIONS and puts.legs is not None
    assert cross.config.instrument_kind is InstrumentKind.FUTURES and cross.legs is None
    trades = puts.trades
    assert trades.height > 0 and set(trades["option_type"]) == {"PE"}
    pnl = (trades["exit_price"] - trades["entry_price"]) * trades["quantity"] - trades["costs"]
    np.testing.assert_allclose(pnl.to_numpy(), trades["net_pnl"].to_numpy(), atol=1e-6)


def test_the_option_model_is_part_of_the_evaluation_context() -> None:
    options = _options()
    key = evaluation_context_key(
        MARKET.candles, CONFIG, ScoringConfig(), CostTable.bundled(), folds=2, options=options
    )
    steeper = OptionBacktest(
        options.config,
        dataclasses.replace(options.market, smile=Smile(skew=-0.2)),
    )
    other = evaluation_context_key(
        MARKET.candles, CONFIG, ScoringConfig(), CostTable.bundled(), folds=2, options=steeper
    )
    without = evaluation_context_key(
        MARKET.candles, CONFIG, ScoringConfig(), CostTable.bundled(), folds=2
    )
    assert len({key, other, without}) == 3
