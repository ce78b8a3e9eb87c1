"""The optimised compiler (dense kernel, sparse filters, shared conditions, batch order) gives
exactly the entries of a plain restatement of the DSL's semantics: every condition on every
bar, NaN operands never ready, the window on the signal bar's close, positive exit distances."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    IndicatorOperand,
    PriceOperand,
)
from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.rules import AtrStop, AtrTrail, SwingStop
from tradeloop.domain.strategy.spec import StrategySpec

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_MINUTES = generate_market("NIFTY", days=12, seed=3).candles


def reference_entry(spec: StrategySpec, candles: pl.DataFrame) -> np.ndarray:
    arrays = PriceArrays.from_candles(candles)
    cache = IndicatorCache(arrays)
    operands: list[Any] = []

    def values(operand: Any) -> Any:
        operands.append(operand)
        if isinstance(operand, IndicatorOperand):
            return cache.get(operand.indicator, operand.params, operand.output_name)
        if isinstance(operand, PriceOperand):
            return getattr(arrays, operand.price)
        return np.full(len(arrays), float(operand))

    def holds(condition: Condition) -> np.ndarray:
        left = values(condition.left)
        if isinstance(condition.right, tuple):
            low, high = (values(side) for side in condition.right)
            return (left >= low) & (left <= high)
        right = values(condition.right)
        result = np.zeros(len(arrays), dtype=bool)
        if condition.op == "crosses_above":
            result[1:] = (left[1:] > right[1:]) & (left[:-1] <= right[:-1])
            return result
        if condition.op == "crosses_below":
            result[1:] = (left[1:] < right[1:]) & (left[:-1] >= right[:-1])
            return result
        compare = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
        return compare[condition.op](left, right)

    def item(node: Condition | AllOf | AnyOf) -> np.ndarray:
        if isinstance(node, Condition):
            return holds(node)
        if isinstance(node, AllOf):
            return np.logical_and.reduce([holds(c) for c in node.all])
        return np.logical_or.reduce([holds(c) for c in node.any])

    items = [item(node) for node in spec.entry.items]
    reduce = np.logical_and if spec.entry.mode == "all" else np.logical_or
    entry = reduce.reduce(items)
    for condition in spec.filters.regime:
        entry &= holds(condition)
    for operand in list(operands):
        if isinstance(operand, IndicatorOperand):
            entry &= np.isfinite(values(operand))
    close_minute = 9 * 60 + 15 + np.minimum(arrays.minute_of_session + arrays.bar_minutes, 375)
    window = spec.filters.time_window
    if window is not None:
        entry &= close_minute >= window.start.hour * 60 + window.start.minute
        entry &= close_minute <= window.end.hour * 60 + window.end.minute
    if spec.exit.square_off is not None:
        entry &= close_minute < spec.exit.square_off.hour * 60 + spec.exit.square_off.minute
    direction = 1 if spec.direction == "long" else -1
    for rule in (spec.exit.stop_loss, spec.exit.trailing_stop):
        if isinstance(rule, AtrStop | AtrTrail):
            entry &= cache.get("atr", {"period": rule.period}) > 0
        if isinstance(rule, SwingStop):
            params = {"left": rule.strength, "right": rule.strength}
            swing = cache.get("swings", params, "low" if direction == 1 else "high")
            entry &= direction * (arrays.close - swing) > 0
    return entry


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    timeframe=st.sampled_from(["1m", "5m", "15m", "1h"]),
    with_templates=st.booleans(),
)
def test_compiler_matches_the_reference_semantics(
    seed: int, timeframe: str, with_templates: bool
) -> None:
    candles = _MINUTES if timeframe == "1m" else resample(_MINUTES, timeframe)
    specs = random_specs(seed, 6, "NIFTY", timeframe)
    if with_templates:
        specs += template_specs("NIFTY", timeframe)
    specs += specs[:2]  # duplicates share their conditions and indicators in the batch
    for spec, signals in zip(specs, compile_many(specs, candles), strict=True):
        np.testing.assert_array_equal(signals.entry, reference_entry(spec, candles), spec.name)


def test_the_reference_comparison_is_not_vacuous() -> None:
    candles = resample(_MINUTES, "5m")
    specs = random_specs(99, 10, "NIFTY", "5m")
    assert sum(int(reference_entry(spec, candles).sum()) for spec in specs) > 20
