"""Prices on the tick grid: the one rounding rule the order path and the backtester share.

`round_to_tick(value, tick, direction)` puts a price on the grid of `tick`: up when `direction`
is positive, down when negative, and left where it is when it is already on the grid within
float noise (a millionth of a tick). The result is rounded to the tick's decimals, so 0.05 × n
comes out as the decimal price a person writes. Compiled, so the backtest kernel calls the very
function `execution/contract.py` calls for paper and live orders.
"""

from __future__ import annotations

import math

from numba import njit

SNAP = 1e-6
"""A value within this fraction of a tick of the grid is on it (float noise, not a price)."""


@njit(cache=True, nogil=True)
def tick_decimals(tick: float) -> int:
    """The decimals of `tick` (0.05 → 2, 0.1 → 1, 1.0 → 0), at most 8."""
    decimals = 0
    scaled = tick
    while decimals < 8 and abs(scaled - round(scaled)) > 1e-9 * max(1.0, abs(scaled)):
        decimals += 1
        scaled = tick * 10.0**decimals
    return decimals


@njit(cache=True, nogil=True)
def round_to_tick(value: float, tick: float, direction: int) -> float:
    """`value` on the grid of `tick`: up (`direction` > 0) or down (< 0) when it is off it."""
    units = value / tick
    nearest = round(units)
    if abs(units - nearest) <= SNAP:
        whole = nearest
    elif direction > 0:
        whole = math.ceil(units)
    else:
        whole = math.floor(units)
    return round(whole * tick, tick_decimals(tick))
