"""The compiled rules of option pricing and implied volatility: one module, one cache.

Everything is Black-76 on the forward ``F``; Black-Scholes with a carry is the same function at
``F = S·e^{(r−q)T}`` (`pricing.py` says so once). The price is written through the normalised
Black function of Jäckel ("Let's Be Rational", 2015), as intrinsic value plus time value::

    x = ln(F/K),  s = σ·√T,  b(x, s) = e^{x/2}·N(x/s + s/2) − e^{−x/2}·N(x/s − s/2),  x <= 0
    price = e^{−rT}·max(θ(F − K), 0) + e^{−rT}·√(F·K)·b(−|x|, s)     θ = +1 call, −1 put

(the out-of-the-money option's price is every option's time value, by put–call parity and
b(x, s, put) = b(−x, s, call)), so that the pricer and the implied-volatility solver use one
function, not two copies of it. ``N`` is ``erfc``-based: accurate to double precision far into
the tails.

The kernels live in one file on purpose: numba keys a cached function on its own source file
only, so a solver in another file that inlines the pricer would load stale after the pricer
changed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SQRT_TWO = math.sqrt(2.0)
INV_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0
"""Theta is per calendar day: the per-year rate over 365."""
PER_POINT = 0.01
"""Vega per vol point (σ + 0.01) and rho per 1 % rate (r + 0.01)."""

# Greeks columns of `black_batch`'s output.
PRICE, DELTA, GAMMA, THETA, VEGA, RHO = range(6)
N_OUTPUTS = 6

# Implied-volatility reason codes (`implied_vol.IVReason` names them).
IV_OK, IV_BELOW_INTRINSIC, IV_ABOVE_UPPER_BOUND, IV_NO_TIME = 0, 1, 2, 3
IV_VEGA_TOO_SMALL, IV_INVALID_INPUT, IV_NO_CONVERGENCE = 4, 5, 6

EPSILON = float(np.finfo(np.float64).eps)
IDENTIFIABLE_VOL_STEP = 1e-8
"""IV is returned only if moving σ by this much moves the price by more than its rounding."""
ROUNDING_ULPS = 4.0
"""How many relative epsilons of the price count as its rounding (input, parity, pricer)."""
SMALLEST_TIME_VALUE = 1e-290
"""A normalised time value below this is too near underflow (1e-308) to carry its digits."""
MAX_ITERATIONS = 100
MAX_TOTAL_VOL = 64.0


@njit(cache=True, nogil=True)
def norm_cdf(z: float) -> float:
    """Standard normal CDF, 0.5·erfc(−z/√2): full relative precision in the lower tail."""
    return 0.5 * math.erfc(-z / SQRT_TWO)


@njit(cache=True, nogil=True)
def scaled_density(x: float, s: float) -> float:
    """e^{x/2}·n(x/s + s/2) = e^{−x/2}·n(x/s − s/2): the normalised vega ∂b/∂s (0 at s = 0)."""
    if s <= 0.0:
        return 0.0
    h = x / s
    return INV_SQRT_TWO_PI * math.exp(-0.5 * (h * h + 0.25 * s * s))


@njit(cache=True, nogil=True)
def normalised_otm(x: float, s: float) -> float:
    """b(x, s, +1) for x <= 0: the out-of-the-money call's undiscounted price over √(F·K),
    which is every option's time value (b(x, s, −1) = b(−x, s, +1), and parity). 0 at s = 0."""
    if s <= 0.0:
        return 0.0
    h = x / s
    half = 0.5 * s
    value = math.exp(0.5 * x) * norm_cdf(h + half) - math.exp(-0.5 * x) * norm_cdf(h - half)
    return max(value, 0.0)


@njit(cache=True, nogil=True)
def _forward_delta_weight(x: float, s: float, theta: float) -> float:
    """θ·N(θ·d1); at s = 0 the payoff's step (0.5·θ at the money)."""
    if s <= 0.0:
        if theta * x > 0.0:
            return theta
        if x == 0.0:
            return 0.5 * theta
        return 0.0
    return theta * norm_cdf(theta * (x / s + 0.5 * s))


@njit(cache=True, nogil=True)
def black_price(
    forward: float, strike: float, time: float, vol: float, rate: float, is_call: bool
) -> float:
    """The discounted Black-76 price: intrinsic value plus time value,
    e^{−rT}·max(θ(F − K), 0) + e^{−rT}·√(F·K)·b(−|ln(F/K)|, σ√T, +1).

    Written so (not as F·N(d1) − K·N(d2)) the in-the-money price carries its time value to
    the last digits, and the solver's parity step (price − intrinsic) undoes it exactly."""
    discount = math.exp(-rate * time)
    intrinsic = discount * max((forward - strike) if is_call else (strike - forward), 0.0)
    s = vol * math.sqrt(time)
    x = -abs(math.log(forward / strike))
    return intrinsic + discount * math.sqrt(forward * strike) * normalised_otm(x, s)


@njit(cache=True, nogil=True)
def black_one(
    forward: float,
    strike: float,
    time: float,
    vol: float,
    rate: float,
    carry: float,
    is_call: bool,
    spot_greeks: bool,
    out: np.ndarray,
) -> None:
    """Price and Greeks of one option into `out[PRICE..RHO]`, per-unit (not per day/point).

    With `spot_greeks` false: Black-76 (delta and gamma in F, theta and rho holding F fixed).
    With it true: Black-Scholes, ``F = S·e^{carry·T}`` (carry = r − q): delta and gamma in S,
    theta and rho holding S (and q) fixed, through dF/dS = e^{carry·T}, dF/dT = carry·F and
    dF/dr = T·F.
    """
    theta = 1.0 if is_call else -1.0
    discount = math.exp(-rate * time)
    root_time = math.sqrt(time)
    s = vol * root_time
    x = math.log(forward / strike)
    scale = math.sqrt(forward * strike)
    price = black_price(forward, strike, time, vol, rate, is_call)
    density = discount * scale * scaled_density(x, s)  # e^{−rT}·F·n(d1)
    delta = discount * _forward_delta_weight(x, s, theta)
    gamma = density / (forward * forward * s) if s > 0.0 else 0.0
    vega = density * root_time
    decay = 0.5 * density * vol / root_time if s > 0.0 else 0.0
    theta_year = -decay + rate * price
    rho = -time * price
    if spot_greeks:
        growth = math.exp(carry * time)  # F / S
        theta_year -= delta * carry * forward
        rho += delta * time * forward
        delta *= growth
        gamma *= growth * growth
    out[PRICE] = price
    out[DELTA] = delta
    out[GAMMA] = gamma
    out[THETA] = theta_year / DAYS_PER_YEAR
    out[VEGA] = vega * PER_POINT
    out[RHO] = rho * PER_POINT


@njit(cache=True, nogil=True)
def black_batch(
    forward: np.ndarray,
    strike: np.ndarray,
    time: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    carry: np.ndarray,
    is_call: np.ndarray,
    spot_greeks: bool,
) -> np.ndarray:
    """`black_one` over 1-D arrays of one length: rows of (price, delta, gamma, theta, vega,
    rho), theta per calendar day, vega per vol point, rho per 1 % rate."""
    n = forward.shape[0]
    out = np.empty((n, N_OUTPUTS))
    for i in range(n):
        black_one(
            forward[i], strike[i], time[i], vol[i], rate[i], carry[i], is_call[i],
            spot_greeks, out[i],
        )  # fmt: skip
    return out


@njit(cache=True, nogil=True)
def black_price_batch(
    forward: np.ndarray,
    strike: np.ndarray,
    time: np.ndarray,
    vol: np.ndarray,
    rate: np.ndarray,
    is_call: np.ndarray,
) -> np.ndarray:
    """`black_price` over 1-D arrays of one length (no Greeks' work)."""
    n = forward.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = black_price(forward[i], strike[i], time[i], vol[i], rate[i], is_call[i])
    return out


@njit(cache=True, nogil=True)
def _solve_total_vol(x: float, target: float) -> tuple[float, int]:
    """The s with b(x, s, +1) = target, for x <= 0 (an out-of-the-money call) and
    0 < target < e^{x/2}: Newton on ln b, kept inside a bracket that bisection shrinks.

    ln b is steep where b is exponentially small (deep out of the money, short expiry), which
    is what makes Newton on it converge where Newton on b crawls.
    """
    log_target = math.log(target)
    low = 0.0
    high = max(math.sqrt(2.0 * abs(x)), 1.0)
    while normalised_otm(x, high) <= target:
        low = high
        high *= 2.0
        if high > MAX_TOTAL_VOL:
            return math.nan, IV_ABOVE_UPPER_BOUND
    # Start at the inflection point √(2|x|) when inside the bracket, else mid-bracket.
    s = math.sqrt(2.0 * abs(x))
    if not low < s < high:
        s = 0.5 * (low + high)
    if x == 0.0 and low == 0.0:  # at the money: b ≈ s/√(2π) for small s
        s = min(target * math.sqrt(2.0 * math.pi), 0.5 * high)
    for _ in range(MAX_ITERATIONS):
        value = normalised_otm(x, s)
        if value <= 0.0:
            low = s
            s = 0.5 * (low + high)
            continue
        if value > target:
            high = s
        else:
            low = s
        slope = scaled_density(x, s) / value  # d ln b / ds
        step = (log_target - math.log(value)) / slope if slope > 0.0 else math.nan
        candidate = s + step
        if not (low < candidate < high) or not math.isfinite(candidate):
            candidate = 0.5 * (low + high)
        if abs(candidate - s) <= 4.0 * EPSILON * s or high - low <= 4.0 * EPSILON * high:
            return candidate, IV_OK
        s = candidate
    return s, IV_NO_CONVERGENCE


@njit(cache=True, nogil=True)
def implied_vol_one(
    price: float,
    forward: float,
    strike: float,
    time: float,
    rate: float,
    is_call: bool,
) -> tuple[float, int]:
    """Black-76 implied volatility of one discounted price, and its reason code.

    An in-the-money price is turned into its out-of-the-money twin by put–call parity, and a
    put with F > K into the call of the mirrored moneyness (b(x, s, −1) = b(−x, s, +1)),
    so one solver for x <= 0 serves all four. NaN with a reason, never an exception.
    """
    if not (
        math.isfinite(price)
        and math.isfinite(forward)
        and math.isfinite(strike)
        and math.isfinite(time)
        and math.isfinite(rate)
        and forward > 0.0
        and strike > 0.0
        and price >= 0.0
    ):
        return math.nan, IV_INVALID_INPUT
    if time <= 0.0:
        return math.nan, IV_NO_TIME
    discount = math.exp(-rate * time)
    intrinsic = discount * max((forward - strike) if is_call else (strike - forward), 0.0)
    upper = discount * (forward if is_call else strike)
    rounding = ROUNDING_ULPS * EPSILON * max(price, discount * forward, discount * strike)
    if price < intrinsic - rounding:
        return math.nan, IV_BELOW_INTRINSIC
    if price >= upper:
        return math.nan, IV_ABOVE_UPPER_BOUND
    time_value = price - intrinsic  # the out-of-the-money twin's price
    if time_value <= 0.0:
        return math.nan, IV_VEGA_TOO_SMALL
    x = math.log(forward / strike)
    x = -abs(x)
    scale = discount * math.sqrt(forward * strike)
    target = time_value / scale
    if target < SMALLEST_TIME_VALUE:
        return math.nan, IV_VEGA_TOO_SMALL
    if target >= math.exp(0.5 * x):
        return math.nan, IV_ABOVE_UPPER_BOUND
    s, code = _solve_total_vol(x, target)
    if code != IV_OK:
        return math.nan, code
    root_time = math.sqrt(time)
    vega = scale * scaled_density(x, s) * root_time  # ∂price/∂σ
    if vega * IDENTIFIABLE_VOL_STEP <= ROUNDING_ULPS * EPSILON * price:
        return math.nan, IV_VEGA_TOO_SMALL
    return s / root_time, IV_OK


@njit(cache=True, nogil=True)
def implied_vol_batch(
    price: np.ndarray,
    forward: np.ndarray,
    strike: np.ndarray,
    time: np.ndarray,
    rate: np.ndarray,
    is_call: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """`implied_vol_one` over 1-D arrays of one length: vols and reason codes (uint8)."""
    n = price.shape[0]
    vols = np.empty(n)
    reasons = np.empty(n, dtype=np.uint8)
    for i in range(n):
        vol, code = implied_vol_one(price[i], forward[i], strike[i], time[i], rate[i], is_call[i])
        vols[i] = vol
        reasons[i] = code
    return vols, reasons
