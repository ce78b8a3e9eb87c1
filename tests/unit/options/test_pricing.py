"""Black-76 / Black-Scholes prices and Greeks: Hull's textbook digits, parity, finite differences.

Hull, *Options, Futures, and Other Derivatives*:

* 9th ed. (2014), Example 15.6 (p. 360): S0 = 42, K = 40, r = 0.10, σ = 0.20, T = 0.5 →
  call 4.76, put 0.81.
* The Greeks example, S0 = 49, K = 50, r = 0.05, σ = 0.20, T = 20 weeks = 0.3846 years:
  call delta 0.522, gamma 0.066, theta −4.31 per year, vega 0.121 per 1 % of vol, rho 0.0891
  per 1 % of rate (Hull Examples 17.1, 17.2, 17.4, 17.6, 17.7, pp. 355–368, as py_vollib's
  docstrings cite them). Per calendar day, theta is −4.31/365 = −0.0118.
* Student Solutions Manual (9th ed.), Problem 17.6: S0 = K = 250, T = 0.25, σ = 0.18,
  r = 0.10, q = 0.03 → call 11.15.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeloop.domain.options.pricing import (
    OptionInputError,
    black76_greeks,
    black76_price,
    black_scholes_greeks,
    black_scholes_price,
    forward_price,
)
from tradeloop.errors import UserError


def test_hull_example_15_6_call_and_put_match_the_published_digits() -> None:
    call = black_scholes_price(42.0, 40.0, 0.5, 0.20, 0.10, 0.0, True)
    put = black_scholes_price(42.0, 40.0, 0.5, 0.20, 0.10, 0.0, False)
    assert round(call, 2) == 4.76
    assert round(put, 2) == 0.81


def test_hull_greeks_example_matches_the_published_digits() -> None:
    greeks = black_scholes_greeks(49.0, 50.0, 0.3846, 0.20, 0.05, 0.0, True)
    assert round(greeks.delta, 3) == 0.522
    assert round(greeks.gamma, 3) == 0.066
    assert round(greeks.theta * 365, 2) == -4.31  # per year
    assert round(greeks.theta, 4) == -0.0118  # per calendar day
    assert round(greeks.vega * 100, 1) == 12.1  # per unit of σ
    assert round(greeks.vega, 3) == 0.121  # per vol point
    assert round(greeks.rho * 100, 2) == 8.91  # per unit of r
    assert round(greeks.rho, 4) == 0.0891  # per 1 %


def test_hull_solutions_manual_17_6_call_with_a_dividend_yield() -> None:
    assert round(black_scholes_price(250.0, 250.0, 0.25, 0.18, 0.10, 0.03, True), 2) == 11.15


def test_black_scholes_is_black76_on_the_forward() -> None:
    spot, strike, time, vol, rate, dividend = 22_000.0, 22_500.0, 0.08, 0.14, 0.065, 0.012
    forward = forward_price(spot, time, rate, dividend)
    assert forward == pytest.approx(spot * math.exp((rate - dividend) * time), rel=1e-15)
    for call in (True, False):
        bs = black_scholes_price(spot, strike, time, vol, rate, dividend, call)
        assert bs == black76_price(forward, strike, time, vol, rate, call)


GRID_LOG_MONEYNESS = np.linspace(-1.0, 1.0, 41)
GRID_TIMES = np.array([5 / (365 * 24 * 60), 1 / 365, 7 / 365, 0.1, 0.5, 1.0, 2.0])
GRID_VOLS = np.array([0.05, 0.1, 0.2, 0.5, 1.0, 2.0])


@pytest.mark.parametrize(("forward", "rate"), [(100.0, 0.07), (24_000.0, 0.065), (1.0, 0.0)])
def test_put_call_parity_holds_to_1e_9_over_the_grid(forward: float, rate: float) -> None:
    m, t, v = np.meshgrid(GRID_LOG_MONEYNESS, GRID_TIMES, GRID_VOLS, indexing="ij")
    strike = forward * np.exp(m)
    call = black76_price(forward, strike, t, v, rate, True)
    put = black76_price(forward, strike, t, v, rate, False)
    parity = np.exp(-rate * t) * (forward - strike)
    scale = max(forward, 1.0) / 100.0  # 1e-9 on a 100 underlying, the same relative above
    assert np.max(np.abs(call - put - parity)) <= 1e-9 * scale


def test_spot_put_call_parity_with_a_dividend_yield() -> None:
    m, t, v = np.meshgrid(GRID_LOG_MONEYNESS, GRID_TIMES, GRID_VOLS, indexing="ij")
    spot, rate, dividend = 100.0, 0.07, 0.02
    strike = spot * np.exp(m)
    call = black_scholes_price(spot, strike, t, v, rate, dividend, True)
    put = black_scholes_price(spot, strike, t, v, rate, dividend, False)
    parity = spot * np.exp(-dividend * t) - strike * np.exp(-rate * t)
    assert np.max(np.abs(call - put - parity)) <= 1e-9


CASES = [  # (spot, strike, time, vol, rate, dividend)
    (100.0, 100.0, 0.5, 0.2, 0.05, 0.01),
    (100.0, 130.0, 1.0, 0.35, 0.07, 0.0),
    (100.0, 70.0, 0.1, 0.5, 0.03, 0.02),
    (22_000.0, 22_400.0, 7 / 365, 0.13, 0.065, 0.0),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("call", [True, False])
def test_black_scholes_greeks_match_finite_differences(case: tuple[float, ...], call: bool) -> None:
    spot, strike, time, vol, rate, dividend = case

    def price(s: float = spot, t: float = time, v: float = vol, r: float = rate) -> float:
        return black_scholes_price(s, strike, t, v, r, dividend, call)

    greeks = black_scholes_greeks(spot, strike, time, vol, rate, dividend, call)
    h = spot * 1e-5
    assert greeks.price == price()
    delta = (price(s=spot + h) - price(s=spot - h)) / (2 * h)
    assert greeks.delta == pytest.approx(delta, rel=1e-6)
    gamma = (price(s=spot + h) - 2 * price() + price(s=spot - h)) / h**2
    assert greeks.gamma == pytest.approx(gamma, rel=1e-4)
    day = 1 / 365
    assert greeks.theta == pytest.approx((price(t=time - 1e-6) - price(t=time + 1e-6)) / 2e-6 * day,
                                         rel=1e-5)  # fmt: skip
    assert greeks.vega == pytest.approx((price(v=vol + 1e-6) - price(v=vol - 1e-6)) / 2e-6 * 0.01,
                                        rel=1e-6)  # fmt: skip
    assert greeks.rho == pytest.approx((price(r=rate + 1e-6) - price(r=rate - 1e-6)) / 2e-6 * 0.01,
                                       rel=1e-5)  # fmt: skip


@pytest.mark.parametrize("call", [True, False])
def test_black76_greeks_are_forward_greeks(call: bool) -> None:
    forward, strike, time, vol, rate = 24_100.0, 24_000.0, 14 / 365, 0.15, 0.065

    def price(f: float = forward, t: float = time, r: float = rate) -> float:
        return black76_price(f, strike, t, vol, r, call)

    greeks = black76_greeks(forward, strike, time, vol, rate, call)
    h = forward * 1e-5
    assert greeks.delta == pytest.approx((price(f=forward + h) - price(f=forward - h)) / (2 * h),
                                         rel=1e-6)  # fmt: skip
    assert greeks.gamma == pytest.approx(
        (price(f=forward + h) - 2 * price() + price(f=forward - h)) / h**2, rel=1e-4
    )
    assert greeks.theta == pytest.approx((price(t=time - 1e-7) - price(t=time + 1e-7)) / 2e-7 / 365,
                                         rel=1e-5)  # fmt: skip
    assert greeks.rho == pytest.approx(-time * greeks.price * 0.01, rel=1e-12)


def test_arrays_broadcast_and_match_scalar_calls() -> None:
    strikes = np.array([[21_800.0, 22_000.0, 22_200.0]])
    times = np.array([[7 / 365], [35 / 365]])
    calls = np.array([True, False, True])
    greeks = black_scholes_greeks(22_000.0, strikes, times, 0.14, 0.065, 0.0, calls)
    assert isinstance(greeks.vega, np.ndarray)
    assert greeks.vega.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = black_scholes_greeks(
                22_000.0, strikes[0, j], times[i, 0], 0.14, 0.065, 0.0, bool(calls[j])
            )
            assert isinstance(one.delta, float)
            assert greeks.delta[i, j] == one.delta
            assert greeks.theta[i, j] == one.theta


def test_expiry_and_zero_vol_give_the_discounted_intrinsic_value() -> None:
    assert black76_price(110.0, 100.0, 0.0, 0.2, 0.05, True) == 10.0
    assert black76_price(110.0, 100.0, 1.0, 0.0, 0.05, True) == pytest.approx(10 * math.exp(-0.05))
    assert black76_price(90.0, 100.0, 0.0, 0.2, 0.05, True) == 0.0
    greeks = black76_greeks(110.0, 100.0, 0.0, 0.2, 0.05, True)
    assert (greeks.delta, greeks.gamma, greeks.vega) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"strike": -1.0}, "strike"),
        ({"strike": 0.0}, "strike"),
        ({"vol": -0.2}, "vol"),
        ({"time": -0.01}, "time"),
        ({"spot": 0.0}, "spot"),
        ({"rate": float("nan")}, "rate"),
        ({"dividend_yield": float("inf")}, "dividend_yield"),
        ({"strike": np.array([100.0, -5.0])}, "strike"),
        ({"call": "call"}, "call"),
    ],
)
def test_bad_inputs_raise_an_error_naming_the_argument(
    arguments: dict[str, object], named: str
) -> None:
    inputs: dict[str, object] = {
        "spot": 100.0, "strike": 100.0, "time": 0.5, "vol": 0.2, "rate": 0.05,
        "dividend_yield": 0.0, "call": True,
    }  # fmt: skip
    inputs.update(arguments)
    with pytest.raises(OptionInputError, match=f"^{named} ") as raised:
        black_scholes_greeks(**inputs)  # type: ignore[arg-type]
    assert isinstance(raised.value, UserError)
    assert isinstance(raised.value, ValueError)


def test_shapes_that_do_not_broadcast_are_refused_with_the_shapes() -> None:
    with pytest.raises(OptionInputError, match="broadcast"):
        black76_price(np.ones(3), np.ones(2) * 100, 0.5, 0.2, 0.05, True)
