"""Option specs are valid but not backtestable yet: every path says so instead of a proxy P&L."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.research import evaluate_specs, unsupported_reason
from tradeloop.domain.strategy.spec import load_spec
from tradeloop.errors import SpecError

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"


def test_option_spec_is_refused_by_name_and_index_spec_is_not() -> None:
    puts = load_spec(EXAMPLES / "nifty_macd_puts_5m.json")
    cross = load_spec(EXAMPLES / "nifty_ema_cross_15m.json")
    assert unsupported_reason(cross) is None
    reason = unsupported_reason(puts)
    assert reason is not None and "nifty_macd_puts_5m" in reason and "options" in reason
    candles = generate_market("NIFTY", days=6).candles
    with pytest.raises(SpecError, match="trades options"):
        evaluate_specs(
            [cross, puts],
            candles,
            BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE),
            ScoringConfig(),
            CostTable.bundled(),
            folds=4,
        )
