"""Order blocks: the last opposite candle before a displacement bar, until broken or too old."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numba import njit

from tradeloop.domain.indicators._talib import talib
from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays

DEFINITION: Final = """\
A bullish displacement is a bar t whose body close[t] − open[t] exceeds displacement × ATR[t−1]
(TA-Lib ATR(atr_period), the volatility before the move). It makes the last down candle
(close < open) before t the bullish order block — its zone is that candle's [low, high] —
provided that candle is at most `lookback` bars before t. Bearish mirrors it: a body
open[t] − close[t] > displacement × ATR[t−1] makes the last up candle (close > open) before t the
bearish block. A newer block replaces the older one of its side. A block ends on the first bar
whose close breaks it (a close below a bullish block's low, above a bearish block's high, the
creating bar included) or once its candle is more than `lookback` bars old. Each bar: new
blocks first, then breaks and expiry, so everything at t uses bars up to t only.
`*_distance_atr` = distance of close[t] from the zone in ATR[t] multiples: 0 inside
[low, high], (close − high)/ATR above it, (low − close)/ATR below it. All outputs are NaN while
there is no live block of that side."""


@njit(cache=True, error_model="numpy")
def _order_block_kernel(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    lookback: int,
    displacement: float,
) -> np.ndarray:  # pragma: no cover - compiled
    size = len(close)
    out = np.full((6, size), np.nan)
    bullish = -1
    bearish = -1
    last_down = -1
    last_up = -1
    for bar in range(size):
        if bar >= 1 and not np.isnan(atr[bar - 1]):
            body = close[bar] - open_[bar]
            threshold = displacement * atr[bar - 1]
            if body > threshold and last_down >= 0 and bar - last_down <= lookback:
                bullish = last_down
            if -body > threshold and last_up >= 0 and bar - last_up <= lookback:
                bearish = last_up
        if bullish >= 0 and (close[bar] < low[bullish] or bar - bullish > lookback):
            bullish = -1
        if bearish >= 0 and (close[bar] > high[bearish] or bar - bearish > lookback):
            bearish = -1
        for side in range(2):
            block = bullish if side == 0 else bearish
            if block < 0:
                continue
            top = high[block]
            bottom = low[block]
            out[side * 2, bar] = top
            out[side * 2 + 1, bar] = bottom
            if close[bar] > top:
                out[4 + side, bar] = (close[bar] - top) / atr[bar]
            elif close[bar] < bottom:
                out[4 + side, bar] = (bottom - close[bar]) / atr[bar]
            else:
                out[4 + side, bar] = 0.0
        if close[bar] < open_[bar]:
            last_down = bar
        elif close[bar] > open_[bar]:
            last_up = bar
    return out


OUTPUTS: Final = (
    "bullish_high",
    "bullish_low",
    "bearish_high",
    "bearish_low",
    "bullish_distance_atr",
    "bearish_distance_atr",
)


def _compute(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    atr = talib.ATR(arrays.high, arrays.low, arrays.close, timeperiod=int(params["atr_period"]))
    rows = _order_block_kernel(
        arrays.open,
        arrays.high,
        arrays.low,
        arrays.close,
        atr,
        int(params["lookback"]),
        float(params["displacement"]),
    )
    return {name: np.ascontiguousarray(rows[index]) for index, name in enumerate(OUTPUTS)}


ORDER_BLOCK: Final = IndicatorDef(
    name="order_block",
    description="Last live bullish/bearish order block (the last opposite candle before a "
    "displacement bar) and the close's distance from it in ATRs",
    params=(
        Param("lookback", "int", 50, 2, 500, "maximum age in bars of the block's candle"),
        Param("atr_period", "int", 14, 1, 200, "ATR length in bars"),
        Param("displacement", "float", 1.5, 0.1, 10.0, "minimum body of the move in ATRs"),
    ),
    outputs=OUTPUTS,
    source="native",
    compute=_compute,
    # The first displacement test needs ATR[t-1], which TA-Lib starts at bar atr_period.
    warmup=lambda params: int(params["atr_period"]) + 1,
    units=("price", "price", "price", "price", "atr_multiple", "atr_multiple"),
    definition=DEFINITION,
    warmup_note="atr_period + 1; then NaN while no block is live",
)
