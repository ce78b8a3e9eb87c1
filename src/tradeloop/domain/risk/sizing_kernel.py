"""The compiled twin of `sizing.risk_quantity`, for the backtest kernels.

Same formula, same order of floating-point operations, same zero cases, so the backtester sizes
exactly as the risk manager does (`tests/unit/backtest/test_sizing_twin.py` checks they agree):

    quantity = floor(capital × risk_fraction / |entry − stop| / lot_size) × lot_size,
    capped at floor(max_notional / (entry × lot_size)) lots
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def risk_quantity_nb(
    capital: float,
    risk_fraction: float,
    entry: float,
    stop: float,
    lot_size: int,
    max_notional: float,
) -> int:
    """Units to trade so that a stop-out loses at most `capital × risk_fraction`; 0 to skip.

    `lot_size` must be positive (the caller validates it once, not per trade).
    """
    risk_per_unit = abs(entry - stop)
    budget = capital * risk_fraction
    if not (risk_per_unit > 0 and budget > 0 and math.isfinite(risk_per_unit)):
        return 0
    lots = budget / risk_per_unit / lot_size
    if max_notional < math.inf:
        lots = min(lots, max_notional / (abs(entry) * lot_size))
    return max(math.floor(lots), 0) * lot_size
