"""Supertrend: an ATR band that flips sides when the close crosses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numba import njit

from tradeloop.domain.indicators._talib import talib
from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays

DEFINITION: Final = """\
atr = TA-Lib ATR(period) (Wilder; first value at bar `period`); mid = (high + low) / 2;
basic_upper = mid + multiplier·atr; basic_lower = mid − multiplier·atr.
Final bands carry forward (TradingView `ta.supertrend`): upper[t] = basic_upper[t] if
basic_upper[t] < upper[t−1] or close[t−1] > upper[t−1], else upper[t−1]; lower[t] =
basic_lower[t] if basic_lower[t] > lower[t−1] or close[t−1] < lower[t−1], else lower[t−1]; on
the first bar both are the basic bands. Direction starts −1 (down) on the first bar; after a
down bar it turns +1 when close[t] > upper[t]; after an up bar it turns −1 when
close[t] < lower[t]. line = lower when direction is +1, upper when it is −1."""


@njit(cache=True)
def _supertrend_kernel(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    multiplier: float,
    start: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    size = len(close)
    line = np.full(size, np.nan)
    direction = np.full(size, np.nan)
    upper_before = 0.0
    lower_before = 0.0
    direction_before = -1.0
    for bar in range(start, size):
        middle = (high[bar] + low[bar]) / 2.0
        upper = middle + multiplier * atr[bar]
        lower = middle - multiplier * atr[bar]
        current = -1.0
        if bar > start:
            if not (upper < upper_before or close[bar - 1] > upper_before):
                upper = upper_before
            if not (lower > lower_before or close[bar - 1] < lower_before):
                lower = lower_before
            if direction_before < 0.0:
                current = 1.0 if close[bar] > upper else -1.0
            else:
                current = -1.0 if close[bar] < lower else 1.0
        line[bar] = lower if current > 0.0 else upper
        direction[bar] = current
        upper_before = upper
        lower_before = lower
        direction_before = current
    return line, direction


def _compute(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    period = int(params["period"])
    atr = talib.ATR(arrays.high, arrays.low, arrays.close, timeperiod=period)
    line, direction = _supertrend_kernel(
        arrays.high, arrays.low, arrays.close, atr, float(params["multiplier"]), period
    )
    return {"line": line, "direction": direction}


SUPERTREND: Final = IndicatorDef(
    name="supertrend",
    description="Supertrend: an ATR trailing band; direction +1 above it (up), −1 below (down)",
    params=(
        Param("period", "int", 10, 1, 200, "ATR length in bars"),
        Param("multiplier", "float", 3.0, 0.1, 20.0, "band distance from the mid price in ATRs"),
    ),
    outputs=("line", "direction"),
    source="native",
    compute=_compute,
    warmup=lambda params: int(params["period"]),
    units=("price", "direction"),
    definition=DEFINITION,
    warmup_note="period",
)
