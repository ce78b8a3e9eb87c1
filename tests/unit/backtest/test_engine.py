"""The engine's contract: batch = single, inputs refused clearly, frames typed, runs repeatable."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import talib
from pydantic import ValidationError

from golden.backtest_frames import NO_COSTS, candles, load_sample, minute_bars, signals
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import (
    BacktestConfig,
    BacktestResult,
    layout,
    market_arrays,
    run_backtest,
    run_batch,
)
from tradeloop.domain.costs import CostTable
from tradeloop.domain.exits import BACKTEST_EXIT_REASONS, ExitReason
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import DataValidationError, UserError

COSTS = CostTable.bundled()


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return load_sample()


def _variety(candles_frame: pl.DataFrame) -> list[Signals]:
    """Long and short, percent and ATR stops, with and without targets, trails, break-even."""
    close = candles_frame["close"].to_numpy()
    high = candles_frame["high"].to_numpy()
    low = candles_frame["low"].to_numpy()
    n = len(close)
    rsi = talib.RSI(close, 14)
    atr = np.nan_to_num(talib.ATR(high, low, close, 14), nan=1.0)
    zeros, nans = np.zeros(n), np.full(n, np.nan)
    out = []
    for index, level in enumerate((25, 30, 35, 40)):
        down = np.zeros(n, dtype=bool)
        down[1:] = (rsi[1:] < level) & (rsi[:-1] >= level)
        up = np.zeros(n, dtype=bool)
        up[1:] = (rsi[1:] > 100 - level) & (rsi[:-1] <= 100 - level)
        out.append(
            Signals(
                f"long{level}",
                1,
                down,
                zeros,
                0.004,
                zeros,
                target_r=2.0,
                break_even_r=1.0,
                square_off_minute=915,
            )
        )
        out.append(
            Signals(
                f"short{level}",
                -1,
                up,
                1.5 * atr,
                0.0,
                nans,
                trail_offset=2.0 * atr,
                max_bars_held=10 + index,
                square_off_minute=-1 if index % 2 else 915,
            )
        )
    return out


@pytest.mark.parametrize("compounding", [True, False])
def test_batch_equals_single_spec_by_spec(sample: pl.DataFrame, compounding: bool) -> None:
    config = BacktestConfig.for_symbol(
        "NIFTY", NIFTY_FUTURE, compounding=compounding, risk_per_trade_pct=2.0
    )
    variety = _variety(sample)
    batch = run_batch(variety, sample, config, COSTS, keep_equity=True)
    assert len(batch) == len(variety)
    for spec_signals, together in zip(variety, batch, strict=True):
        alone = run_backtest(spec_signals, sample, config, COSTS)
        assert together.spec_id == alone.spec_id == spec_signals.spec_id
        assert together.metrics == alone.metrics
        assert together.trades.equals(alone.trades)
        assert together.equity.equals(alone.equity)
        assert together.daily_equity.equals(alone.daily_equity)
    assert sum(result.metrics.trades for result in batch) > 50


def test_batch_equals_single_on_a_bar_range(sample: pl.DataFrame) -> None:
    variety = _variety(sample)[:4]
    config = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE, risk_per_trade_pct=2.0)
    for together, spec_signals in zip(
        run_batch(variety, sample, config, COSTS, start=700, end=2100), variety, strict=True
    ):
        alone = run_backtest(spec_signals, sample, config, COSTS, start=700, end=2100)
        assert together.metrics == alone.metrics
        assert together.trades.equals(alone.trades)
        assert alone.metrics.bars == 1400


def test_same_inputs_give_identical_results(sample: pl.DataFrame) -> None:
    signals_ = _variety(sample)[1]
    config = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE)
    first = run_backtest(signals_, sample, config, COSTS)
    second = run_backtest(signals_, market_arrays(sample), config, COSTS)
    assert first.metrics == second.metrics
    assert first.trades.equals(second.trades)


def test_trade_frame_columns_and_types(sample: pl.DataFrame) -> None:
    result = run_backtest(
        _variety(sample)[0], sample, BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE), COSTS
    )
    trades = result.trades
    assert trades.height == result.metrics.trades > 0
    assert trades.schema["entry_time"] == pl.Datetime("us", "UTC")
    assert trades.schema["quantity"] == pl.Int64
    assert trades["exit_reason"].dtype == pl.Enum(
        [
            "stop",
            "target",
            "trailing_stop",
            "break_even_stop",
            "max_bars",
            "square_off",
            "end_of_data",
        ]
    )
    assert (trades["exit_time"] >= trades["entry_time"]).all()
    assert (trades["entry_time"] > trades["signal_time"]).all()
    assert (trades["quantity"] % 65 == 0).all()
    cost_sum = sum(trades[c] for c in ("brokerage", "stt", "exchange", "sebi", "stamp_duty", "gst"))
    assert np.allclose(cost_sum.to_numpy(), trades["costs"].to_numpy())
    assert np.allclose((trades["gross_pnl"] - trades["costs"]).to_numpy(), trades["net_pnl"])
    assert result.equity.height == sample.height
    assert result.daily_equity.height == result.metrics.sessions == 40


def test_batch_without_equity_gives_daily_curve(sample: pl.DataFrame) -> None:
    (result,) = run_batch(
        _variety(sample)[:1], sample, BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE), COSTS
    )
    assert result.bar_equity is None
    assert result.equity.equals(result.daily_equity)


def test_empty_batch_returns_nothing(sample: pl.DataFrame) -> None:
    assert run_batch([], sample, NO_COSTS, COSTS) == []


def test_misaligned_signals_are_refused_with_both_lengths() -> None:
    frame = candles(minute_bars("2025-01-06 09:15", [(100, 101, 99, 100)] * 5))
    with pytest.raises(DataValidationError, match="have 4 bars but the candles have 5"):
        run_backtest(signals(4, [0]), frame, NO_COSTS, COSTS)


def test_bar_range_outside_the_candles_is_refused() -> None:
    frame = candles(minute_bars("2025-01-06 09:15", [(100, 101, 99, 100)] * 5))
    with pytest.raises(UserError, match=r"bar range \[3, 9\)"):
        run_backtest(signals(5, [0]), frame, NO_COSTS, COSTS, start=3, end=9)


def test_empty_candle_frame_is_refused() -> None:
    frame = candles([])
    with pytest.raises(DataValidationError, match="candle frame is empty"):
        run_backtest(signals(0, []), frame, NO_COSTS, COSTS)


def test_fixed_quantity_needs_a_quantity() -> None:
    with pytest.raises(ValidationError, match="needs quantity > 0"):
        BacktestConfig(sizing="fixed_quantity")


def test_unknown_config_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="stop_loss_pct"):
        BacktestConfig(stop_loss_pct=1.0)  # type: ignore[call-arg]


def test_for_symbol_uses_the_future_lot_and_tick() -> None:
    facts = ContractFacts("BANKNIFTY", ContractKind.FUT, 35, 0.2, "tests")
    config = BacktestConfig.for_symbol("banknifty", facts, capital=5e5)
    assert (config.lot_size, config.tick_size, config.capital) == (35, 0.2, 5e5)
    assert config.instrument_kind == "futures"


def test_for_symbol_refuses_the_facts_of_another_contract() -> None:
    with pytest.raises(ValueError, match="facts of NIFTY FUT"):
        BacktestConfig.for_symbol("BANKNIFTY", NIFTY_FUTURE)


def test_non_positive_risk_is_skipped_as_invalid_stop() -> None:
    rows = [(100, 100.5, 99.5, 100)] * 4
    frame = candles(minute_bars("2025-01-06 09:15", rows))
    result = run_backtest(signals(4, [0], stop_fraction=0.0), frame, NO_COSTS, COSTS)
    assert result.trades.height == 0
    assert result.metrics.skipped_invalid_stop == 1


def test_results_accept_price_arrays(sample: pl.DataFrame) -> None:
    arrays = PriceArrays.from_candles(sample)
    result = run_backtest(
        _variety(sample)[2], arrays, BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE), COSTS
    )
    assert isinstance(result, BacktestResult)
    assert math.isfinite(result.metrics.sharpe)
    summary = result.summary()
    assert summary["spec_id"] == "long30"
    assert summary["metrics"]["trades"] == result.metrics.trades


def test_exit_reason_codes_match_the_kernel_layout() -> None:
    for reason in BACKTEST_EXIT_REASONS:
        assert getattr(layout, reason.name) == reason.code


def test_trade_list_names_each_reason_by_its_ledger_label(sample: pl.DataFrame) -> None:
    result = run_backtest(
        _variety(sample)[2], sample, BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE), COSTS
    )
    labels = ["stop", "target", "trailing_stop", "break_even_stop", "max_bars", "square_off"]
    assert result.trades.schema["exit_reason"] == pl.Enum([*labels, "end_of_data"])
    codes = result.records[:, layout.T_REASON].astype(int)
    reasons = [ExitReason(label) for label in result.trades["exit_reason"]]
    assert [reason.code for reason in reasons] == codes.tolist()
