"""No look-ahead (DESIGN invariant 4): every indicator at bar t is the same whether computed on
the whole history or on the history cut at t, for random candles and random valid params.

The candles are random walks inside real NSE sessions, on a coarse tick so equal highs and lows
(ties) are common, sometimes with missing bars and sometimes without volume (an index)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tradeloop.domain.indicators import IndicatorDef, PriceArrays, get_indicator, indicator_names
from tradeloop.domain.market.calendar import SESSION_MINUTES, NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA, INTERVAL_MINUTES
from tradeloop.errors import SpecError

CALENDAR = NSECalendar.default()
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Keep int params small enough that a few sessions of data get past the warm-up.
LARGEST_DRAWN_INT = 60


@st.composite
def random_walk_arrays(draw: st.DrawFn) -> PriceArrays:
    interval = draw(st.sampled_from(["1m", "5m", "15m"]))
    minutes = INTERVAL_MINUTES[interval]
    sessions = draw(st.integers(1, 3))
    start = date(2025, 1, 6) + timedelta(days=draw(st.integers(0, 300)))
    stamps = CALENDAR.minute_bars(start, start + timedelta(days=10), minutes)
    stamps = stamps[: sessions * (SESSION_MINUTES // minutes)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keep = rng.random(len(stamps)) < draw(st.sampled_from([1.0, 0.85]))
    keep[0] = True
    stamps = stamps[keep]
    size = len(stamps)
    tick = draw(st.sampled_from([0.05, 1.0, 5.0]))

    def on_tick(values: np.ndarray) -> np.ndarray:
        rounded: np.ndarray = np.round(values / tick) * tick
        return rounded

    close = on_tick(20_000 + np.cumsum(rng.normal(0, 6, size)))
    open_ = on_tick(np.concatenate(([close[0]], close[:-1])) + rng.normal(0, 1, size))
    high = np.maximum(open_, close) + on_tick(np.abs(rng.normal(0, 3, size)))
    low = np.minimum(open_, close) - on_tick(np.abs(rng.normal(0, 3, size)))
    volume = np.zeros(size, dtype=np.int64) if draw(st.booleans()) else rng.integers(0, 5_000, size)
    frame = pl.DataFrame(
        {
            "symbol": ["NIFTY"] * size,
            "interval": [interval] * size,
            "ts": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "oi": [None] * size,
        },
        schema=CANDLE_SCHEMA,
    )
    return PriceArrays.from_candles(frame)


@st.composite
def valid_params(draw: st.DrawFn, definition: IndicatorDef) -> dict[str, float]:
    raw: dict[str, object] = {}
    for param in definition.params:
        if param.kind == "int":
            top = min(param.maximum, max(param.minimum, LARGEST_DRAWN_INT))
            raw[param.name] = draw(st.integers(int(param.minimum), int(top)))
        else:
            raw[param.name] = draw(st.floats(param.minimum, param.maximum))
    try:
        return definition.validate_params(raw)
    except SpecError:
        assume(False)  # a cross-parameter constraint (macd fast < slow, sar): draw again
        raise


# Their warm-up is exact: finite from `warmup` on for any finite prices. The others are a lower
# bound: swings, blocks, gaps and session levels also wait for the data to produce one.
EXACT_WARMUP = {name for name in indicator_names() if get_indicator(name).source == "talib"} | {
    "supertrend",
    "vwap",
}


@pytest.mark.parametrize("name", indicator_names())
@SETTINGS
@given(data=st.data())
def test_indicator_at_t_is_the_same_on_history_cut_at_t(name: str, data: st.DataObject) -> None:
    """Also: outputs are NaN during the warm-up (and set after an exact one)."""
    definition = get_indicator(name)
    arrays = data.draw(random_walk_arrays(), label="candles")
    params = data.draw(valid_params(definition), label="params")
    whole = definition.compute(arrays, params)
    _assert_warmup(definition, params, whole, len(arrays))
    cuts = data.draw(
        st.lists(st.integers(0, len(arrays) - 1), min_size=1, max_size=4, unique=True),
        label="cuts",
    )
    for t in cuts:
        cut = definition.compute(arrays.head(t + 1), params)
        for output in definition.outputs:
            # Compares bars 0..t, NaNs equal: no value up to t may change when later bars exist.
            np.testing.assert_array_equal(
                whole[output][: t + 1], cut[output], err_msg=f"{name}.{output} cut at {t}"
            )


def _assert_warmup(
    definition: IndicatorDef, params: dict[str, float], outputs: dict[str, np.ndarray], size: int
) -> None:
    """NaN during the warm-up; for exact warm-ups, finite after it."""
    warmup = definition.warmup(params)
    for output, values in outputs.items():
        label = f"{definition.name}.{output}"
        assert values.dtype == np.float64 and len(values) == size, label
        assert np.isnan(values[:warmup]).all(), f"{label} is set before bar {warmup}"
        if definition.name in EXACT_WARMUP:
            assert np.isfinite(values[warmup:]).all(), f"{label} is NaN after bar {warmup}"
