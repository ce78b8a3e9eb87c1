"""European option prices and Greeks: Black-76 on the forward, Black-Scholes with a carry.

One model, two doors. Black-76 prices an option on the forward (or futures) price ``F`` with
discount rate ``r``::

    call = e^{−rT}·[F·N(d1) − K·N(d2)],  put = e^{−rT}·[K·N(−d2) − F·N(−d1)]
    d1 = (ln(F/K) + σ²T/2)/(σ√T),  d2 = d1 − σ√T

Black-Scholes (Merton) on a spot ``S`` with continuous dividend / carry yield ``q`` is the same
price at ``F = S·e^{(r−q)T}`` (`forward_price`); both call the same compiled kernel
(`_kernels.black_one`).

Units of every Greek (both models):

* ``delta``: Black-76: ∂price/∂F, the *forward* delta, discounted (e^{−rT}·N(d1) for a call).
  Black-Scholes: ∂price/∂S, the *spot* delta (e^{−qT}·N(d1) for a call).
* ``gamma``: the derivative of that delta in the same underlying (F or S), per unit of it.
* ``theta``: −∂price/∂T per **calendar day** (the per-year rate / 365); Black-76 holds F fixed,
  Black-Scholes holds S fixed.
* ``vega``: price change for σ + 0.01 (one vol point), to first order: ∂price/∂σ × 0.01.
* ``rho``: price change for r + 0.01 (one percent), to first order: ∂price/∂r × 0.01; Black-76
  holds F fixed (−T·price), Black-Scholes holds S and q fixed.

Inputs: numbers or arrays that broadcast together (numpy rules). Rates, yields and vols are
decimals per year (0.065, not 6.5); time is in years. A scalar call returns a float, an array
call an array of the broadcast shape. ``time == 0`` or ``vol == 0`` gives the discounted
intrinsic value, delta the payoff's step (half of it at the money), zero gamma and vega.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.domain.options import _kernels
from tradeloop.errors import UserError

FloatOrArray = float | npt.NDArray[np.float64]


class OptionInputError(UserError, ValueError):
    """An option's input is out of its domain (negative strike, vol or time, a NaN ...)."""


@dataclass(frozen=True)
class Greeks:
    """Price and Greeks of one option or a broadcast array of them (units: module docstring)."""

    price: FloatOrArray
    delta: FloatOrArray
    gamma: FloatOrArray
    theta: FloatOrArray
    """Per calendar day."""
    vega: FloatOrArray
    """Per vol point (σ + 0.01)."""
    rho: FloatOrArray
    """Per 1 % rate (r + 0.01)."""


def _as_float_array(name: str, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OptionInputError(f"{name} must be a number or an array of numbers") from exc
    if not np.all(np.isfinite(array)):
        raise OptionInputError(f"{name} must be finite; it holds NaN or infinity")
    return array


def _positive(name: str, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = _as_float_array(name, value)
    if np.any(array <= 0.0):
        raise OptionInputError(f"{name} must be > 0; got {np.min(array)!r}")
    return array


def _non_negative(name: str, value: npt.ArrayLike, unit: str) -> npt.NDArray[np.float64]:
    array = _as_float_array(name, value)
    if np.any(array < 0.0):
        raise OptionInputError(f"{name} must be >= 0 ({unit}); got {np.min(array)!r}")
    return array


def calls_array(value: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """`call` as booleans (True: call/CE, False: put/PE); anything else is refused."""
    array = np.asarray(value)
    if array.dtype != np.bool_:
        raise OptionInputError(
            "call must be True (a call, CE) or False (a put, PE), or an array of them; "
            f"got dtype {array.dtype}"
        )
    return array


def _flatten(*arrays: np.ndarray) -> tuple[tuple[int, ...], list[np.ndarray]]:
    try:
        broadcast = np.broadcast_arrays(*arrays)
    except ValueError as exc:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise OptionInputError(f"the inputs' shapes do not broadcast together: {shapes}") from exc
    shape = broadcast[0].shape
    # An input already of the full shape is used as it is: its broadcast view is flagged
    # (numpy warns when compiled code reads whether it is writeable).
    return shape, [
        (np.ascontiguousarray(given) if given.shape == shape else spread.copy()).reshape(-1)
        for given, spread in zip(arrays, broadcast, strict=True)
    ]


def _shaped(values: np.ndarray, shape: tuple[int, ...]) -> FloatOrArray:
    return float(values[0]) if shape == () else values.reshape(shape)


def forward_price(
    spot: npt.ArrayLike, time: npt.ArrayLike, rate: npt.ArrayLike, dividend_yield: npt.ArrayLike
) -> FloatOrArray:
    """F = S·e^{(r−q)T}: the forward a Black-Scholes price is a Black-76 price on."""
    spot_array = _positive("spot", spot)
    time_array = _non_negative("time", time, "years to expiry")
    carry = _as_float_array("rate", rate) - _as_float_array("dividend_yield", dividend_yield)
    result = spot_array * np.exp(carry * time_array)
    return float(result) if result.ndim == 0 else result


def _black(
    forward: np.ndarray,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    carry: np.ndarray,
    call: npt.ArrayLike,
    spot_greeks: bool,
) -> Greeks:
    shape, flat = _flatten(
        forward,
        _positive("strike", strike),
        _non_negative("time", time, "years to expiry"),
        _non_negative("vol", vol, "a decimal per year, 0.2 for 20 %"),
        _as_float_array("rate", rate),
        carry,
        calls_array(call),
    )
    forward_flat, strike_flat, time_flat, vol_flat, rate_flat, carry_flat, call_flat = flat
    out = _kernels.black_batch(
        forward_flat, strike_flat, time_flat, vol_flat, rate_flat, carry_flat, call_flat,
        spot_greeks,
    )  # fmt: skip
    columns: dict[str, Any] = {
        name: _shaped(np.ascontiguousarray(out[:, column]), shape)
        for name, column in (
            ("price", _kernels.PRICE), ("delta", _kernels.DELTA), ("gamma", _kernels.GAMMA),
            ("theta", _kernels.THETA), ("vega", _kernels.VEGA), ("rho", _kernels.RHO),
        )
    }  # fmt: skip
    return Greeks(**columns)


def black76_greeks(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    call: npt.ArrayLike,
) -> Greeks:
    """Black-76 price and Greeks; delta and gamma are in the forward F (module docstring)."""
    forward_array = _positive("forward", forward)
    return _black(forward_array, strike, time, vol, rate, np.zeros(()), call, spot_greeks=False)


def black76_price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    call: npt.ArrayLike,
) -> FloatOrArray:
    """Black-76 price of a European option on the forward F, discounted at `rate`."""
    shape, flat = _flatten(
        _positive("forward", forward),
        _positive("strike", strike),
        _non_negative("time", time, "years to expiry"),
        _non_negative("vol", vol, "a decimal per year, 0.2 for 20 %"),
        _as_float_array("rate", rate),
        calls_array(call),
    )
    forward_flat, strike_flat, time_flat, vol_flat, rate_flat, call_flat = flat
    prices = _kernels.black_price_batch(
        forward_flat, strike_flat, time_flat, vol_flat, rate_flat, call_flat
    )
    return _shaped(prices, shape)


def black_scholes_greeks(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    dividend_yield: npt.ArrayLike,
    call: npt.ArrayLike,
) -> Greeks:
    """Black-Scholes price and Greeks with a continuous yield q; delta and gamma in the spot."""
    spot_array = _positive("spot", spot)
    time_array = _non_negative("time", time, "years to expiry")
    carry = _as_float_array("rate", rate) - _as_float_array("dividend_yield", dividend_yield)
    forward = spot_array * np.exp(carry * time_array)
    return _black(forward, strike, time_array, vol, rate, carry, call, spot_greeks=True)


def black_scholes_price(
    spot: npt.ArrayLike,
    strike: npt.ArrayLike,
    time: npt.ArrayLike,
    vol: npt.ArrayLike,
    rate: npt.ArrayLike,
    dividend_yield: npt.ArrayLike,
    call: npt.ArrayLike,
) -> FloatOrArray:
    """Black-Scholes price with a continuous yield q: Black-76 at F = S·e^{(r−q)T}."""
    forward = forward_price(spot, time, rate, dividend_yield)
    return black76_price(forward, strike, time, vol, rate, call)
