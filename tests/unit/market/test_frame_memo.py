"""A frame's derived values are read once per frame object, and never outlive or misfit it."""

from __future__ import annotations

import gc
from datetime import date

import polars as pl
import pytest

from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.costs import CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.frame_memo import derived, memo_size
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.spec import StrategySpec


@pytest.fixture(scope="module")
def candles() -> pl.DataFrame:
    return generate_market("NIFTY", days=3, seed=5, start=date(2025, 1, 6)).candles


def test_the_same_frame_object_is_read_once(candles: pl.DataFrame) -> None:
    calls: list[int] = []
    first = derived(candles, "probe", lambda: calls.append(1) or "value")
    again = derived(candles, "probe", lambda: calls.append(1) or "other")
    assert (first, again, len(calls)) == ("value", "value", 1)
    assert PriceArrays.of(candles) is PriceArrays.of(candles)


def test_an_equal_but_new_frame_is_read_again(candles: pl.DataFrame) -> None:
    copy = candles.clone()
    assert PriceArrays.of(copy) is not PriceArrays.of(candles)
    assert (PriceArrays.of(copy).close == PriceArrays.of(candles).close).all()


def test_a_frame_changed_in_shape_in_place_is_read_again(candles: pl.DataFrame) -> None:
    frame = candles.clone()
    before = PriceArrays.of(frame)
    frame.insert_column(frame.width, pl.Series("note", ["x"] * frame.height))
    assert PriceArrays.of(frame) is not before


def test_derived_values_are_dropped_with_their_frame(candles: pl.DataFrame) -> None:
    frame = candles.clone()
    PriceArrays.of(frame)
    kept = memo_size()
    del frame
    gc.collect()
    assert memo_size() < kept


def test_compile_and_backtest_share_the_frames_arrays(candles: pl.DataFrame) -> None:
    spec = StrategySpec.model_validate(
        {
            "spec_version": 1,
            "name": "rsi_dip",
            "symbol": "NIFTY",
            "timeframe": "1m",
            "direction": "long",
            "instrument": {"kind": "index"},
            "entry": {
                "all": [
                    {"left": {"indicator": "rsi", "period": 14}, "op": "crosses_below", "right": 30}
                ]
            },
            "exit": {
                "stop_loss": {"kind": "percent", "percent": 0.5},
                "take_profit": {"kind": "percent", "percent": 1.0},
            },
        }
    )
    frame = candles.clone()
    signals = compile_spec(spec, frame)
    arrays = PriceArrays.of(frame)
    shared = run_backtest(signals, frame, BacktestConfig(), CostTable.bundled())
    fresh = run_backtest(
        signals, PriceArrays.from_candles(frame), BacktestConfig(), CostTable.bundled()
    )
    assert PriceArrays.of(frame) is arrays
    assert shared.trades.equals(fresh.trades)
    assert shared.metrics == fresh.metrics
