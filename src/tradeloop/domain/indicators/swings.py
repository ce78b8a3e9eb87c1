"""Swing highs and lows (pivots), reported only once the bars that confirm them have closed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numba import njit

from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays

DEFINITION: Final = """\
Bar p is a swing high when high[p] is strictly above each of the `left` highs before it and at
least each of the `right` highs after it (so a flat top of equal highs counts once, at its first
bar); swing lows mirror this with lows. A pivot at p is confirmed at the close of bar p + right,
so `high`/`low` at t is the price of the last swing high/low with p + right <= t, NaN before the
first one. The earliest possible confirmation is bar left + right."""


@njit(cache=True)
def last_confirmed_pivot(
    values: np.ndarray, left: int, right: int
) -> np.ndarray:  # pragma: no cover - compiled
    """At each bar t, `values[p]` of the last pivot high p of `values` with p + right <= t.

    For swing lows pass `-low` and negate the result.
    """
    size = len(values)
    result = np.empty(size)
    last = np.nan
    for bar in range(size):
        pivot = bar - right  # the only candidate this bar can confirm
        if pivot >= left:
            value = values[pivot]
            confirmed = True
            for before in range(pivot - left, pivot):
                if not value > values[before]:
                    confirmed = False
                    break
            if confirmed:
                for after in range(pivot + 1, bar + 1):
                    if not value >= values[after]:
                        confirmed = False
                        break
            if confirmed:
                last = value
        result[bar] = last
    return result


def _compute(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    left, right = int(params["left"]), int(params["right"])
    return {
        "high": last_confirmed_pivot(arrays.high, left, right),
        "low": -last_confirmed_pivot(-arrays.low, left, right),
    }


SWINGS: Final = IndicatorDef(
    name="swings",
    description="Price of the last confirmed swing high and swing low (pivots of strength "
    "left/right)",
    params=(
        Param("left", "int", 3, 1, 50, "bars before a pivot that it must exceed"),
        Param("right", "int", 3, 1, 50, "bars after a pivot that confirm it (the delay)"),
    ),
    outputs=("high", "low"),
    source="native",
    compute=_compute,
    warmup=lambda params: int(params["left"]) + int(params["right"]),
    units=("price", "price"),
    definition=DEFINITION,
    warmup_note="left + right; then NaN until the first pivot is confirmed",
)
