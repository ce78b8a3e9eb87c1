"""The compiler on hand-made series: crossings, warm-up, windows, groups, exits, refusals."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from strategy_helpers import candles_from_closes, document

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.strategy.compiler import compile_many, compile_spec
from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import SpecError

CLOSE: dict[str, Any] = {"price": "close"}
SERIES = [10.0, 11.0, 9.0, 12.0, 12.0, 8.0, 13.0, 10.0, 10.5, 11.0]
PERCENT_STOP = {"stop_loss": {"kind": "percent", "percent": 0.5}}


def spec_of(entry: dict[str, Any], timeframe: str = "1m", **changes: Any) -> StrategySpec:
    return StrategySpec.from_document(
        document(
            entry=entry, timeframe=timeframe, exit=changes.pop("exit", PERCENT_STOP), **changes
        )
    )


def on_bars(entry: dict[str, Any], closes: list[float] = SERIES, **changes: Any) -> Signals:
    timeframe = changes.pop("timeframe", "1m")
    return compile_spec(
        spec_of(entry, timeframe, **changes), candles_from_closes(closes, timeframe)
    )


def true_bars(signals: Signals) -> list[int]:
    return [int(bar) for bar in np.flatnonzero(signals.entry)]


def cond(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "op": op, "right": right}


# --------------------------------------------------------------------------- conditions


def test_crosses_above_a_constant_needs_the_bar_before_at_or_below() -> None:
    signals = on_bars({"all": [cond(CLOSE, "crosses_above", 10.5)]})
    assert true_bars(signals) == [1, 3, 6, 9]


def test_crosses_below_a_constant() -> None:
    signals = on_bars({"all": [cond(CLOSE, "crosses_below", 10.5)]})
    assert true_bars(signals) == [2, 5, 7]


def test_crossing_from_exactly_equal_counts_and_first_bar_never_crosses() -> None:
    signals = on_bars({"all": [cond(CLOSE, "crosses_above", 10.0)]}, closes=[11, 10, 12, 10, 10])
    assert true_bars(signals) == [2]


def test_constant_on_the_left_mirrors_the_crossing() -> None:
    left = on_bars({"all": [cond(10.5, "crosses_below", CLOSE)]})
    right = on_bars({"all": [cond(CLOSE, "crosses_above", 10.5)]})
    assert true_bars(left) == true_bars(right)


def test_crossing_between_two_series() -> None:
    fast = {"indicator": "sma", "period": 2}
    signals = on_bars({"all": [cond(CLOSE, "crosses_above", fast)]})
    sma = np.convolve(SERIES, [0.5, 0.5])[1 : len(SERIES)]
    expected = [
        bar
        for bar in range(2, len(SERIES))
        if SERIES[bar] > sma[bar - 1] and SERIES[bar - 1] <= sma[bar - 2]
    ]
    assert true_bars(signals) == expected


def test_comparisons() -> None:
    assert true_bars(on_bars({"all": [cond(CLOSE, ">", 11)]})) == [3, 4, 6]
    assert true_bars(on_bars({"all": [cond(CLOSE, ">=", 11)]})) == [1, 3, 4, 6, 9]
    assert true_bars(on_bars({"all": [cond(CLOSE, "<", 10)]})) == [2, 5]
    assert true_bars(on_bars({"all": [cond(CLOSE, "<=", 10)]})) == [0, 2, 5, 7]


def test_between_is_inclusive() -> None:
    signals = on_bars({"all": [cond(CLOSE, "between", [10, 11])]})
    assert true_bars(signals) == [0, 1, 7, 8, 9]


def test_between_series_bounds() -> None:
    band = [{"indicator": "lowest", "period": 3}, {"indicator": "highest", "period": 3}]
    signals = on_bars({"all": [cond(CLOSE, "between", band)]})
    assert true_bars(signals) == list(range(2, len(SERIES)))


def test_any_with_a_nested_all_group() -> None:
    entry = {"any": [cond(CLOSE, "<", 9), {"all": [cond(CLOSE, ">", 10), cond(CLOSE, "<", 12)]}]}
    assert true_bars(on_bars(entry)) == [1, 5, 8, 9]


def test_all_with_a_nested_any_group() -> None:
    entry = {
        "all": [cond(CLOSE, ">", 9.5), {"any": [cond(CLOSE, "<", 10.5), cond(CLOSE, ">", 12.5)]}]
    }
    assert true_bars(on_bars(entry)) == [0, 6, 7]


def test_regime_conditions_are_anded() -> None:
    signals = on_bars(
        {"any": [cond(CLOSE, ">", 11), cond(CLOSE, "<", 9)]},
        filters={"regime": [cond(CLOSE, "<", 12.5)]},
    )
    assert true_bars(signals) == [3, 4, 5]


def test_order_of_conditions_does_not_change_the_entry() -> None:
    first = [cond(CLOSE, "crosses_above", 10.5), cond(CLOSE, "<", 12.5)]
    assert true_bars(on_bars({"all": first})) == true_bars(on_bars({"all": first[::-1]}))
    assert true_bars(on_bars({"all": first})) == [1, 3, 9]


# ------------------------------------------------------------------------------- warm-up


RISING_AND_FALLING = [100 + 3 * math.sin(bar / 2) + bar * 0.1 for bar in range(40)]


def test_no_entry_while_an_indicator_warms_up() -> None:
    rsi = {"indicator": "rsi", "period": 5}
    signals = on_bars({"all": [cond(rsi, ">", 0)]}, closes=RISING_AND_FALLING)
    assert not signals.entry[:5].any()
    assert signals.entry[5:].all()


def test_warm_up_blocks_an_any_group_even_when_another_branch_holds() -> None:
    rsi = {"indicator": "rsi", "period": 5}
    entry = {"any": [cond(CLOSE, ">", 0.5), cond(rsi, ">", 99)]}
    signals = on_bars(entry, closes=RISING_AND_FALLING)
    assert not signals.entry[:5].any()
    assert signals.entry[5:].all()


def test_warm_up_inside_a_nested_any_group_blocks_the_entry() -> None:
    ema = {"indicator": "ema", "period": 10}
    entry = {
        "all": [cond(CLOSE, ">", 0.5), {"any": [cond(CLOSE, ">", 0.5), cond(CLOSE, "<", ema)]}]
    }
    signals = on_bars(entry, closes=RISING_AND_FALLING)
    assert true_bars(signals) == list(range(9, 40))


def test_atr_stop_warm_up_blocks_the_entry() -> None:
    signals = on_bars(
        {"all": [cond(CLOSE, ">", 0.5)]},
        closes=RISING_AND_FALLING,
        exit={"stop_loss": {"kind": "atr", "multiple": 2, "period": 5}},
    )
    assert true_bars(signals) == list(range(5, 40))


def test_atr_trailing_stop_warm_up_blocks_the_entry() -> None:
    signals = on_bars(
        {"all": [cond(CLOSE, ">", 0.5)]},
        closes=RISING_AND_FALLING,
        exit={**PERCENT_STOP, "trailing_stop": {"kind": "atr", "multiple": 2, "period": 8}},
    )
    assert true_bars(signals) == list(range(8, 40))


def test_a_crossing_out_of_warm_up_is_not_a_cross() -> None:
    ema = {"indicator": "ema", "period": 3}
    closes = [10.0, 10.0, 10.0, 20.0, 20.0]
    signals = on_bars({"all": [cond(CLOSE, "crosses_above", ema)]}, closes=closes)
    assert true_bars(signals) == [3]


# -------------------------------------------------------------------------------- timing


FULL_SESSION = [100.0 + (bar % 7) for bar in range(75)]  # 75 five-minute bars, 09:15-15:25


def test_time_window_applies_to_the_signal_bars_close() -> None:
    signals = on_bars(
        {"all": [cond(CLOSE, ">", 1)]},
        closes=FULL_SESSION,
        timeframe="5m",
        filters={"time_window": {"start": "09:30", "end": "10:00"}},
    )
    # 5m bars open 09:25 .. 09:55 close 09:30 .. 10:00
    assert true_bars(signals) == list(range(2, 9))


def test_no_entry_from_a_bar_closing_at_or_after_the_square_off() -> None:
    signals = on_bars({"all": [cond(CLOSE, ">", 1)]}, closes=FULL_SESSION, timeframe="5m")
    # the 15:05 bar closes at 15:10, the 15:10 bar at the 15:15 square-off
    assert true_bars(signals) == list(range(71))
    assert signals.square_off_minute == 15 * 60 + 15


def test_overnight_strategy_may_signal_on_the_last_bar() -> None:
    signals = on_bars(
        {"all": [cond(CLOSE, ">", 1)]},
        closes=FULL_SESSION,
        timeframe="5m",
        exit={**PERCENT_STOP, "square_off": None},
    )
    assert true_bars(signals) == list(range(75))
    assert signals.square_off_minute == -1


def test_hourly_last_bar_closes_with_the_session() -> None:
    closes = [100.0 + bar for bar in range(7)]  # 09:15 .. 15:15 (the last one 15 minutes long)
    signals = on_bars(
        {"all": [cond(CLOSE, ">", 1)]},
        closes=closes,
        timeframe="1h",
        exit={**PERCENT_STOP, "square_off": None},
        filters={"time_window": {"start": "15:16", "end": "15:30"}},
    )
    assert true_bars(signals) == [6]


# --------------------------------------------------------------------------------- exits


ALWAYS = {"all": [cond(CLOSE, ">", 1)]}


def test_percent_stop_and_r_target() -> None:
    signals = on_bars(
        ALWAYS,
        exit={
            "stop_loss": {"kind": "percent", "percent": 0.5},
            "take_profit": {"kind": "r_multiple", "r": 2},
        },
    )
    assert signals.stop_fraction == pytest.approx(0.005)
    assert (signals.stop_offset == 0).all()
    assert (signals.target_offset == 0).all()
    assert signals.target_r == 2 and signals.target_fraction == 0
    assert not signals.has_trailing_stop
    assert math.isnan(signals.break_even_r) and signals.max_bars_held == 0
    assert signals.direction == 1


def test_no_take_profit_is_nan_everywhere() -> None:
    signals = on_bars(ALWAYS)
    assert np.isnan(signals.target_offset).all()


def test_percent_target_trailing_stop_break_even_and_time_limit() -> None:
    signals = on_bars(
        ALWAYS,
        exit={
            "stop_loss": {"kind": "percent", "percent": 1},
            "take_profit": {"kind": "percent", "percent": 1.5},
            "trailing_stop": {"kind": "percent", "percent": 0.4},
            "break_even_after_r": 1,
            "max_bars_held": 12,
        },
    )
    assert signals.target_fraction == pytest.approx(0.015) and signals.target_r == 0
    assert signals.trail_fraction == pytest.approx(0.004)
    assert (signals.trail_offset == 0).all() and len(signals.trail_offset) == len(SERIES)
    assert signals.break_even_r == 1 and signals.max_bars_held == 12


def test_atr_stop_and_trail_are_the_atr_arrays_scaled_by_their_multiples() -> None:
    candles = candles_from_closes(RISING_AND_FALLING)
    spec = spec_of(
        ALWAYS,
        exit={
            "stop_loss": {"kind": "atr", "multiple": 1.5, "period": 5},
            "trailing_stop": {"kind": "atr", "multiple": 3, "period": 7},
        },
    )
    signals = compile_spec(spec, candles)
    cache = IndicatorCache(PriceArrays.from_candles(candles))
    np.testing.assert_array_equal(signals.stop_offset, cache.get("atr", {"period": 5}))
    np.testing.assert_array_equal(signals.trail_offset, cache.get("atr", {"period": 7}))
    assert signals.stop_scale == 1.5 and signals.trail_scale == 3
    assert signals.stop_fraction == 0 and signals.trail_fraction == 0


def test_swing_low_stop_is_the_distance_to_the_last_swing_low() -> None:
    closes = [10, 9, 8, 9, 10, 11, 10, 9.5, 10, 11, 12, 7, 11, 12]
    candles = candles_from_closes(closes)
    spec = spec_of(ALWAYS, exit={"stop_loss": {"kind": "swing_low", "strength": 1}})
    signals = compile_spec(spec, candles)
    lows = IndicatorCache(PriceArrays.from_candles(candles)).get(
        "swings", {"left": 1, "right": 1}, "low"
    )
    expected = np.asarray(closes) - lows
    np.testing.assert_allclose(signals.stop_offset, expected)
    assert (signals.entry == (expected > 0)).all()
    assert signals.entry.any() and not signals.entry.all()


def test_swing_high_stop_of_a_short_is_above_the_close() -> None:
    closes = [10, 11, 12, 11, 10, 9, 10, 11, 10, 9, 8, 13, 9]
    candles = candles_from_closes(closes)
    spec = spec_of(
        ALWAYS, direction="short", exit={"stop_loss": {"kind": "swing_high", "strength": 1}}
    )
    signals = compile_spec(spec, candles)
    highs = IndicatorCache(PriceArrays.from_candles(candles)).get(
        "swings", {"left": 1, "right": 1}, "high"
    )
    np.testing.assert_allclose(signals.stop_offset, highs - np.asarray(closes))
    assert signals.direction == -1
    assert (signals.entry == (highs - np.asarray(closes) > 0)).all()


# ------------------------------------------------------------------------- frames, batches


def test_timeframe_mismatch_says_to_resample() -> None:
    spec = spec_of(ALWAYS, timeframe="5m")
    with pytest.raises(SpecError, match=r"reads 5m bars but the candles are \['1m'\]: resample"):
        compile_spec(spec, candles_from_closes(SERIES))


def test_symbol_mismatch_is_refused() -> None:
    spec = spec_of(ALWAYS)
    with pytest.raises(SpecError, match=r"trades NIFTY but the candles are \['BANKNIFTY'\]"):
        compile_spec(spec, candles_from_closes(SERIES, symbol="BANKNIFTY"))


def test_empty_candles_give_empty_signals() -> None:
    signals = compile_spec(spec_of(ALWAYS), candles_from_closes(SERIES).head(0))
    assert len(signals) == 0


def test_a_shared_cache_computes_each_indicator_once(synthetic_five_minutes: pl.DataFrame) -> None:
    cache = IndicatorCache(PriceArrays.from_candles(synthetic_five_minutes))
    specs = template_specs("NIFTY", "5m")
    for spec in specs:
        compile_spec(spec, synthetic_five_minutes, cache)
    misses = cache.misses
    for spec in specs:
        compile_spec(spec, synthetic_five_minutes, cache)
    assert cache.misses == misses and cache.hits > 0


def test_a_cache_of_other_candles_is_refused(synthetic_five_minutes: pl.DataFrame) -> None:
    cache = IndicatorCache(PriceArrays.from_candles(synthetic_five_minutes.head(10)))
    with pytest.raises(ValueError, match="one IndicatorCache per candle frame"):
        compile_spec(template_specs("NIFTY", "5m")[0], synthetic_five_minutes, cache)


def _same(first: Signals, second: Signals) -> None:
    assert first.spec_id == second.spec_id
    np.testing.assert_array_equal(first.entry, second.entry)
    np.testing.assert_array_equal(first.stop_offset, second.stop_offset)
    np.testing.assert_array_equal(first.target_offset, second.target_offset)
    np.testing.assert_array_equal(first.trail_offset, second.trail_offset)
    scalars = ("stop_fraction", "stop_scale", "target_fraction", "target_r", "trail_fraction")
    for name in (*scalars, "trail_scale"):
        assert getattr(first, name) == getattr(second, name)


def test_compile_many_equals_one_by_one(synthetic_five_minutes: pl.DataFrame) -> None:
    specs = [*template_specs("NIFTY", "5m"), *random_specs(8, 40, "NIFTY", "5m")]
    batch = compile_many([*specs, specs[0]], synthetic_five_minutes)
    assert len(batch) == len(specs) + 1
    for spec, signals in zip(specs, batch, strict=False):
        _same(signals, compile_spec(spec, synthetic_five_minutes))
    assert batch[-1] is batch[0]
    assert sum(int(signals.entry.sum()) for signals in batch) > 0


def test_compile_many_of_nothing_is_nothing(synthetic_five_minutes: pl.DataFrame) -> None:
    assert compile_many([], synthetic_five_minutes) == []


def test_compiled_arrays_are_read_only_where_shared(synthetic_five_minutes: pl.DataFrame) -> None:
    signals = compile_many(template_specs("NIFTY", "5m"), synthetic_five_minutes)
    for compiled in signals:
        assert compiled.entry.flags.writeable  # each spec owns its entry array
        assert not compiled.target_offset.flags.writeable
        assert not compiled.stop_offset.flags.writeable
