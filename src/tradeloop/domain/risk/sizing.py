"""Position sizing from the risk rules: written once, used by the backtester and the risk manager.

    quantity = floor(capital × risk_fraction / |entry − stop| / lot_size) × lot_size

in units (Dhan quantities are units, not lots), then capped so that the notional
`entry × quantity` stays within `max_notional` (whole lots again). The loss at the stop is
therefore never more than `capital × risk_fraction` (before costs and slippage beyond the
stop), and a stop a hair from the entry cannot size an absurd position.

The function is compiled (numba) so that the backtest kernels call the very formula the risk
manager calls from Python: one implementation, not two kept equal by a test.
"""

from __future__ import annotations

import math

from numba import njit

# Sizes saturate here: far beyond any order, whole lots stay exact in float64, and the units
# fit the compiled int64 whatever the lot size (Python's int would grow without bound).
_MAX_LOTS = 2.0**53
_MAX_UNITS = 2**63 - 1


@njit(cache=True, nogil=True)
def risk_quantity(
    capital: float,
    risk_fraction: float,
    entry: float,
    stop: float,
    lot_size: int,
    max_notional: float = math.inf,
) -> int:
    """Units to trade so that a stop-out loses at most `capital × risk_fraction`.

    Returns 0 when not even one lot fits (the caller skips the signal and says why), or when the
    inputs cannot size a trade (stop equal to entry, non-positive capital). Raises ValueError
    for a lot size that is not positive.
    """
    if lot_size <= 0:
        raise ValueError("lot_size must be positive, got " + str(lot_size))
    risk_per_unit = abs(entry - stop)
    budget = capital * risk_fraction
    if not (risk_per_unit > 0 and budget > 0 and math.isfinite(risk_per_unit)):
        return 0
    # No rounding tolerance on purpose: a ratio computed as 1.9999999 sizes one lot, never more
    # risk than the budget.
    lots = budget / risk_per_unit / lot_size
    if max_notional < math.inf:
        lots = min(lots, max_notional / (abs(entry) * lot_size))
    lots = min(lots, _MAX_LOTS, _MAX_UNITS // lot_size)
    return max(math.floor(lots), 0) * lot_size
