"""Implied volatility of European option prices: NaN with a reason, never a wrong number.

The solver (`_kernels.implied_vol_one`) inverts the very price function of `pricing`:

1. Bounds. A price below the discounted intrinsic value (beyond its rounding) is
   ``BELOW_INTRINSIC``; at or above the no-arbitrage upper bound (e^{−rT}·F for a call,
   e^{−rT}·K for a put) ``ABOVE_UPPER_BOUND``; ``time <= 0`` is ``NO_TIME``; a NaN, infinite
   or non-positive forward/strike or a negative price is ``INVALID_INPUT``.
2. Out of the money. An in-the-money price becomes its out-of-the-money twin's by put–call
   parity (the time value), and a put becomes the call of mirrored moneyness, so one solver
   handles one case: an out-of-the-money call on the normalised Black function.
3. Solve. Newton's method on ln b(s) in the total volatility s = σ√T, inside a bracket
   [low, high] found by doubling; any step that leaves the bracket is replaced by bisection,
   so it cannot diverge. It stops when a step moves s by no more than a few ulps.
4. Identifiable? The vol is returned only if moving it by 1e-8 moves the price by more than
   the price's rounding (4 ulps of it): ``vega·1e-8 > 4·ε·price``. Otherwise — deep in the
   money at short expiry, where the time value is lost in the intrinsic value's last digits,
   or a price exactly at intrinsic (zero vega) — it is ``VEGA_TOO_SMALL``.

Accuracy: on a grid of ln(K/F) in [−1, 1], expiry 5 minutes to 2 years and vol 0.05 to 2.0,
every identifiable price of `pricing` gives back its vol within 1e-8 (the tests pin it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from tradeloop.domain.options import _kernels
from tradeloop.domain.options.pricing import calls_array


class IVReason(IntEnum):
    """Why an implied volatility is what it is; the codes in `IVResults.reason`."""

    OK = _kernels.IV_OK
    BELOW_INTRINSIC = _kernels.IV_BELOW_INTRINSIC
    ABOVE_UPPER_BOUND = _kernels.IV_ABOVE_UPPER_BOUND
    NO_TIME = _kernels.IV_NO_TIME
    VEGA_TOO_SMALL = _kernels.IV_VEGA_TOO_SMALL
    INVALID_INPUT = _kernels.IV_INVALID_INPUT
    NO_CONVERGENCE = _kernels.IV_NO_CONVERGENCE

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    IVReason.OK: "solved",
    IVReason.BELOW_INTRINSIC: "price below the discounted intrinsic value",
    IVReason.ABOVE_UPPER_BOUND: "price at or above the no-arbitrage upper bound",
    IVReason.NO_TIME: "time to expiry is zero or negative",
    IVReason.VEGA_TOO_SMALL: (
        "vega too small: the price does not pin the vol to 1e-8 (no time value left in the "
        "price's digits)"
    ),
    IVReason.INVALID_INPUT: "price, forward, strike, time or rate is NaN, infinite or <= 0",
    IVReason.NO_CONVERGENCE: "the solver did not converge (a bug: please report the inputs)",
}


@dataclass(frozen=True)
class IVResult:
    """One implied volatility (NaN unless `reason` is OK) and why."""

    vol: float
    reason: IVReason


@dataclass(frozen=True)
class IVResults:
    """Implied volatilities of a broadcast array of prices and their `IVReason` codes (uint8)."""

    vol: npt.NDArray[np.float64]
    reason: npt.NDArray[np.uint8]

    def reasons(self) -> list[IVReason]:
        """The reason codes as `IVReason` members, flattened."""
        return [IVReason(int(code)) for code in self.reason.reshape(-1)]


def _arrays(**named: npt.ArrayLike) -> tuple[tuple[int, ...], list[np.ndarray]]:
    arrays: list[np.ndarray] = [
        calls_array(value) if name == "call" else np.asarray(value, dtype=np.float64)
        for name, value in named.items()
    ]
    broadcast = np.broadcast_arrays(*arrays)
    return broadcast[0].shape, [np.ascontiguousarray(a).reshape(-1) for a in broadcast]


def black76_implied_vol(
    price: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    rate: npt.ArrayLike,
    call: npt.ArrayLike,
) -> IVResult | IVResults:
    """The σ whose Black-76 price is `price`: an `IVResult` for scalars, `IVResults` for arrays.

    Never raises for a price or market input out of bounds (the module docstring lists the
    reasons); a `call` that is not booleans raises `OptionInputError`, and shapes that do not
    broadcast raise numpy's ValueError: both are the calling code's mistakes, not the market's.
    """
    shape, flat = _arrays(
        price=price, forward=forward, strike=strike, time=time, rate=rate, call=call
    )
    price_flat, forward_flat, strike_flat, time_flat, rate_flat, call_flat = flat
    vols, reasons = _kernels.implied_vol_batch(
        price_flat, forward_flat, strike_flat, time_flat, rate_flat, call_flat
    )
    if shape == ():
        return IVResult(float(vols[0]), IVReason(int(reasons[0])))
    return IVResults(vols.reshape(shape), reasons.reshape(shape))


def black_scholes_implied_vol(
    price: npt.ArrayLike,
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    rate: npt.ArrayLike,
    dividend_yield: npt.ArrayLike,
    call: npt.ArrayLike,
) -> IVResult | IVResults:
    """The σ whose Black-Scholes price (continuous yield q) is `price`: Black-76 on
    F = S·e^{(r−q)T}. A spot, time or rate out of domain gives INVALID_INPUT / NO_TIME."""
    spot_array = np.asarray(spot, dtype=np.float64)
    time_array = np.asarray(time, dtype=np.float64)
    carry = np.asarray(rate, dtype=np.float64) - np.asarray(dividend_yield, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        forward = spot_array * np.exp(carry * time_array)
    forward = np.where(spot_array > 0.0, forward, np.nan)  # a bad spot is INVALID_INPUT
    return black76_implied_vol(price, forward, strike, time_array, rate, call)


__all__ = [
    "IVReason",
    "IVResult",
    "IVResults",
    "black76_implied_vol",
    "black_scholes_implied_vol",
]
