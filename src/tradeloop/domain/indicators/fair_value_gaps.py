"""Fair value gaps: three-bar price gaps, tracked until price trades back through them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numba import njit

from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays

DEFINITION: Final = """\
A bullish gap forms at bar t when low[t] > high[t−2]: its zone is bottom = high[t−2],
top = low[t]. A bearish gap forms when high[t] < low[t−2]: top = low[t−2], bottom = high[t].
Gaps smaller than `min_size_percent` % of close[t] are ignored. A bullish gap is filled on the
first later bar whose low reaches its bottom (low <= bottom); a bearish one when a high reaches
its top (high >= top); a gap also expires once it is more than `lookback` bars old. Each bar
first drops filled and expired gaps, then adds the gap it forms. `bullish_top`/`bullish_bottom`
are the zone of the most recent unfilled bullish gap (NaN when none); `in_bullish` is 1.0 when
that gap exists and bottom <= close[t] <= top, else 0.0; bearish outputs mirror them. Every output
is NaN on the first two bars."""


@njit(cache=True)
def _fair_value_gap_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, lookback: int, min_fraction: float
) -> np.ndarray:  # pragma: no cover - compiled
    """Each side keeps its gaps on a stack, newest on top. An entry's `reach` is the lowest low
    (bullish; the highest high for bearish) of the bars after it and up to the entry above it,
    or up to now for the top; popping an entry folds its reach into the one below. So the top's
    reach covers every bar since its creation, and only the top is ever reported: O(n) in all."""
    size = len(close)
    out = np.full((6, size), np.nan)
    tops = np.empty((2, size))
    bottoms = np.empty((2, size))
    reach = np.empty((2, size))
    born = np.empty((2, size), dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    for bar in range(2, size):
        for side in range(2):
            bullish = side == 0
            count = counts[side]
            if count > 0:
                top_index = count - 1
                if bullish:
                    reach[side, top_index] = min(reach[side, top_index], low[bar])
                else:
                    reach[side, top_index] = max(reach[side, top_index], high[bar])
            while count > 0:
                top_index = count - 1
                if bar - born[side, top_index] > lookback:
                    count = 0  # the top is the newest: everything below is older still
                    break
                if bullish:
                    filled = reach[side, top_index] <= bottoms[side, top_index]
                else:
                    filled = reach[side, top_index] >= tops[side, top_index]
                if not filled:
                    break
                count -= 1
                if count > 0:
                    if bullish:
                        reach[side, count - 1] = min(reach[side, count - 1], reach[side, count])
                    else:
                        reach[side, count - 1] = max(reach[side, count - 1], reach[side, count])
            if bullish:
                top, bottom = low[bar], high[bar - 2]
            else:
                top, bottom = low[bar - 2], high[bar]
            if top > bottom and top - bottom >= min_fraction * close[bar]:
                tops[side, count] = top
                bottoms[side, count] = bottom
                reach[side, count] = np.inf if bullish else -np.inf
                born[side, count] = bar
                count += 1
            counts[side] = count
            out[4 + side, bar] = 0.0
            if count > 0:
                last = count - 1
                out[side * 2, bar] = tops[side, last]
                out[side * 2 + 1, bar] = bottoms[side, last]
                if bottoms[side, last] <= close[bar] <= tops[side, last]:
                    out[4 + side, bar] = 1.0
    return out


OUTPUTS: Final = (
    "bullish_top",
    "bullish_bottom",
    "bearish_top",
    "bearish_bottom",
    "in_bullish",
    "in_bearish",
)


def _compute(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    rows = _fair_value_gap_kernel(
        arrays.high,
        arrays.low,
        arrays.close,
        int(params["lookback"]),
        float(params["min_size_percent"]) / 100.0,
    )
    return {name: np.ascontiguousarray(rows[index]) for index, name in enumerate(OUTPUTS)}


FAIR_VALUE_GAP: Final = IndicatorDef(
    name="fair_value_gap",
    description="Most recent unfilled bullish/bearish three-bar fair value gap, and whether the "
    "close is inside it",
    params=(
        Param("lookback", "int", 100, 1, 1000, "maximum age in bars of a gap"),
        Param("min_size_percent", "float", 0.0, 0.0, 5.0, "smallest gap, in % of the close"),
    ),
    outputs=OUTPUTS,
    source="native",
    compute=_compute,
    warmup=lambda params: 2,
    units=("price", "price", "price", "price", "flag", "flag"),
    definition=DEFINITION,
    warmup_note="2; then NaN while no gap is live",
)
