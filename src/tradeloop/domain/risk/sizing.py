"""Position sizing from the risk rules: written once, used by the backtester and the risk manager.

    quantity = floor(capital × risk_fraction / |entry − stop| / lot_size) × lot_size

in units (Dhan quantities are units, not lots), then capped so that the notional
`entry × quantity` stays within `max_notional` (whole lots again). The loss at the stop is
therefore never more than `capital × risk_fraction` (before costs and slippage beyond the
stop), and a stop a hair from the entry cannot size an absurd position.

The function is compiled (numba) so that the backtest kernels call the very formula the risk
manager calls from Python: one implementation, not two kept equal by a test. `size_trade` is
the risk manager's sizing: the same formula under its `RiskLimits`, as a `Sizing` that says why
a trade gets zero lots.
"""

from __future__ import annotations

import math

from numba import njit
from pydantic import BaseModel, ConfigDict

from tradeloop.domain.money import rupees
from tradeloop.domain.risk.limits import RiskLimits

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
        # A constant message: formatting the value here would compile numba's whole string
        # machinery into every kernel that sizes (seconds of a first run); `size_trade`, the
        # Python callers' door, names the value.
        raise ValueError("lot_size must be positive: pass the contract's lot size in units")
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


class Sizing(BaseModel):
    """The result of sizing one trade from the risk rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: int
    lot_size: int
    risk_per_unit: float
    budget: float
    reason: str = ""

    @property
    def approved(self) -> bool:
        return self.quantity > 0

    @property
    def lots(self) -> int:
        return self.quantity // self.lot_size

    @property
    def risk_amount(self) -> float:
        """Rupees lost if the stop fills exactly at its level (before costs)."""
        return self.quantity * self.risk_per_unit


def size_trade(
    limits: RiskLimits,
    capital: float,
    entry: float,
    stop: float,
    lot_size: int,
    *,
    cap_notional: bool = True,
) -> Sizing:
    """Units such that a stop-out loses at most `capital × risk_per_trade_pct` (whole lots).

    With `cap_notional` (the default, as the backtester sizes) the quantity is also kept
    within `max_capital_per_trade_pct` of capital, so a sized intent is never refused for
    its notional. `RiskManager.check` sizes without the cap so each limit is reported by its
    own name.
    """
    if lot_size <= 0:
        raise ValueError(
            f"lot_size must be positive, got {lot_size}: pass the contract's lot size in units"
        )
    budget = capital * limits.risk_fraction
    risk_per_unit = abs(entry - stop)
    quantity = risk_quantity(
        capital,
        limits.risk_fraction,
        entry,
        stop,
        lot_size,
        max_notional=limits.max_notional_per_trade if cap_notional else math.inf,
    )
    reason = ""
    if quantity == 0:
        if not (risk_per_unit > 0 and math.isfinite(risk_per_unit)):
            reason = f"stop {stop} equals entry {entry}: the risk per unit must be above zero"
        elif risk_quantity(capital, limits.risk_fraction, entry, stop, lot_size):
            cap = limits.max_notional_per_trade
            reason = (
                f"zero lots: one lot of {lot_size} at {entry} is a notional of "
                f"{rupees(entry * lot_size)}, above {rupees(cap)}"
                f" ({limits.max_capital_per_trade_pct}% of capital); raise "
                "max_capital_per_trade_pct or trade a smaller contract"
            )
        else:
            reason = (
                f"zero lots: one lot of {lot_size} risks "
                f"{rupees(risk_per_unit * lot_size)} ({rupees(risk_per_unit)} per unit "
                f"from entry {entry} to stop {stop}), above the {rupees(budget)} budget "
                f"({limits.risk_per_trade_pct}% of {rupees(capital)}); "
                "move the stop closer or raise risk_per_trade_pct"
            )
    return Sizing(
        quantity=quantity,
        lot_size=lot_size,
        risk_per_unit=risk_per_unit,
        budget=budget,
        reason=reason,
    )
