"""No look-ahead (DESIGN invariant 4) for compiled strategies: the entry signal and the exit
offsets at bar t are the same whether the spec is compiled on the whole history or on the
history cut at t, for random valid specs (random search and templates) on synthetic candles."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.generators import random_specs, template_specs
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_MARKETS: dict[int, pl.DataFrame] = {}


def market(seed: int, timeframe: str) -> pl.DataFrame:
    if seed not in _MARKETS:
        _MARKETS[seed] = generate_market("NIFTY", days=5, seed=seed).candles
    minutes = _MARKETS[seed]
    return minutes if timeframe == "1m" else resample(minutes, timeframe)


@st.composite
def specs_and_candles(draw: st.DrawFn) -> tuple[list[StrategySpec], pl.DataFrame]:
    timeframe = draw(st.sampled_from(["1m", "5m", "15m"]))
    candles = market(draw(st.integers(0, 7)), timeframe)
    specs = random_specs(draw(st.integers(0, 10**6)), 3, "NIFTY", timeframe)
    if draw(st.booleans()):
        specs.append(draw(st.sampled_from(template_specs("NIFTY", timeframe))))
    return specs, candles


def assert_prefix_equal(full: Signals, cut: Signals, bars: int) -> None:
    assert full.spec_id == cut.spec_id
    np.testing.assert_array_equal(full.entry[:bars], cut.entry)
    entries = cut.entry
    np.testing.assert_array_equal(full.stop_offset[:bars][entries], cut.stop_offset[entries])
    np.testing.assert_array_equal(full.target_offset[:bars][entries], cut.target_offset[entries])
    if full.has_trailing_stop:
        np.testing.assert_array_equal(full.trail_offset[:bars], cut.trail_offset)
    assert (full.stop_fraction, full.target_fraction, full.target_r, full.trail_fraction) == (
        cut.stop_fraction,
        cut.target_fraction,
        cut.target_r,
        cut.trail_fraction,
    )


@SETTINGS
@given(drawn=specs_and_candles(), cuts=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3))
def test_signals_at_t_do_not_depend_on_later_bars(
    drawn: tuple[list[StrategySpec], pl.DataFrame], cuts: list[float]
) -> None:
    specs, candles = drawn
    full = compile_many(specs, candles)
    for fraction in cuts:
        bars = 1 + int(fraction * (candles.height - 1))
        cut = compile_many(specs, candles.head(bars))
        for whole, partial in zip(full, cut, strict=True):
            assert_prefix_equal(whole, partial, bars)


def test_the_drawn_specs_do_fire_on_this_data() -> None:
    """Guards the property above against passing vacuously on specs that never enter."""
    candles = market(0, "5m")
    signals = compile_many(random_specs(1, 30, "NIFTY", "5m"), candles)
    assert sum(1 for compiled in signals if compiled.entry.any()) >= 15
