"""Implied volatility: recovers its own prices to 1e-8 where the price pins the vol, and says
why (NaN with a reason) everywhere else — never an exception, never a wrong number."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeloop.domain.options.implied_vol import (
    IVReason,
    IVResult,
    IVResults,
    black76_implied_vol,
    black_scholes_implied_vol,
)
from tradeloop.domain.options.pricing import (
    OptionInputError,
    black76_greeks,
    black76_price,
    black_scholes_price,
)

EPSILON = float(np.finfo(np.float64).eps)
FIVE_MINUTES = 5 / (365 * 24 * 60)
LOG_MONEYNESS = np.linspace(-1.0, 1.0, 81)  # ln(K/F)
TIMES = np.array([FIVE_MINUTES, 30 / (365 * 24 * 60), 1 / 365, 7 / 365, 0.1, 0.5, 1.0, 2.0])
VOLS = np.array([0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0])


def identifiability(forward: float, strike: np.ndarray, time: np.ndarray, vol: np.ndarray,
                    rate: float, call: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Prices, and vega·1e-8 over the price's rounding (ε·price): > 1 where the price pins σ
    to 1e-8. A time value within 1e-290 of underflow (of √(F·K)) carries no digits: 0."""
    price = black76_price(forward, strike, time, vol, rate, call)
    vega = black76_greeks(forward, strike, time, vol, rate, call).vega * 100  # ∂price/∂σ
    intrinsic = np.exp(-rate * time) * np.maximum(np.where(call, 1, -1) * (forward - strike), 0)
    time_value = (price - intrinsic) / (np.exp(-rate * time) * np.sqrt(forward * strike))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(time_value < 1e-290, 0.0, vega * 1e-8 / (EPSILON * price))
    return price, ratio


@pytest.mark.parametrize(("forward", "rate"), [(100.0, 0.07), (24_000.0, 0.065), (1.0, 0.0)])
def test_dense_grid_recovers_every_identifiable_vol_to_1e_8(forward: float, rate: float) -> None:
    m, t, v, call = np.meshgrid(LOG_MONEYNESS, TIMES, VOLS, np.array([True, False]), indexing="ij")
    strike = forward * np.exp(m)
    price, ratio = identifiability(forward, strike, t, v, rate, call)
    result = black76_implied_vol(price, forward, strike, t, rate, call)
    assert isinstance(result, IVResults)
    solved = result.reason == IVReason.OK
    error = np.abs(result.vol - v)
    # Every vol returned is right; every NaN has a reason and every OK a number.
    assert np.all(error[solved] <= 1e-8)
    assert np.all(np.isnan(result.vol[~solved]))
    # Where moving σ by 1e-8 moves the price by > 4 of its ulps, the vol is recovered ...
    assert np.all(solved[ratio > 4.0])
    # ... and where it moves it by less than one, the answer is NaN, "vega too small".
    assert np.all(result.reason[ratio <= 1.0] == IVReason.VEGA_TOO_SMALL)
    # Near the money (|ln(K/F)| <= 0.1) from six months on, every vol is identifiable.
    assert np.all(solved[(np.abs(m) <= 0.1 + 1e-12) & (t >= 0.5)])


def test_scalar_call_returns_an_iv_result() -> None:
    price = black76_price(24_000.0, 24_500.0, 7 / 365, 0.16, 0.065, True)
    result = black76_implied_vol(price, 24_000.0, 24_500.0, 7 / 365, 0.065, True)
    assert isinstance(result, IVResult)
    assert result.reason is IVReason.OK
    assert result.vol == pytest.approx(0.16, abs=1e-12)


def test_black_scholes_implied_vol_inverts_black_scholes_prices() -> None:
    strikes = np.linspace(80.0, 120.0, 9)
    price = black_scholes_price(100.0, strikes, 0.25, 0.3, 0.07, 0.02, False)
    result = black_scholes_implied_vol(price, 100.0, strikes, 0.25, 0.07, 0.02, False)
    assert isinstance(result, IVResults)
    assert np.all(result.reason == IVReason.OK)
    assert np.max(np.abs(result.vol - 0.3)) <= 1e-12


def test_hull_example_15_6_prices_give_back_twenty_percent() -> None:
    for call in (True, False):
        price = black_scholes_price(42.0, 40.0, 0.5, 0.20, 0.10, 0.0, call)
        result = black_scholes_implied_vol(price, 42.0, 40.0, 0.5, 0.10, 0.0, call)
        assert isinstance(result, IVResult)
        assert result.vol == pytest.approx(0.20, abs=1e-12)


@pytest.mark.parametrize(
    ("price", "forward", "strike", "time", "call", "reason"),
    [
        (9.0, 110.0, 100.0, 0.5, True, IVReason.BELOW_INTRINSIC),  # intrinsic ≈ 9.83
        (5.0, 90.0, 100.0, 0.5, False, IVReason.BELOW_INTRINSIC),
        (200.0, 100.0, 100.0, 0.5, True, IVReason.ABOVE_UPPER_BOUND),  # > e^{−rT}·F
        (99.0, 100.0, 100.0, 0.5, False, IVReason.ABOVE_UPPER_BOUND),  # > e^{−rT}·K
        (5.0, 100.0, 100.0, 0.0, True, IVReason.NO_TIME),
        (5.0, 100.0, 100.0, -1.0, True, IVReason.NO_TIME),
        (0.0, 90.0, 100.0, 0.5, True, IVReason.VEGA_TOO_SMALL),  # at intrinsic: zero vega
        (math.nan, 100.0, 100.0, 0.5, True, IVReason.INVALID_INPUT),
        (-1.0, 100.0, 100.0, 0.5, True, IVReason.INVALID_INPUT),
        (5.0, -100.0, 100.0, 0.5, True, IVReason.INVALID_INPUT),
        (5.0, 100.0, 0.0, 0.5, True, IVReason.INVALID_INPUT),
        (5.0, 100.0, math.inf, 0.5, True, IVReason.INVALID_INPUT),
    ],
)
def test_out_of_domain_prices_are_nan_with_a_reason(
    price: float, forward: float, strike: float, time: float, call: bool, reason: IVReason
) -> None:
    result = black76_implied_vol(price, forward, strike, time, 0.05, call)
    assert isinstance(result, IVResult)
    assert math.isnan(result.vol)
    assert result.reason is reason
    assert result.reason.description


def test_a_bad_spot_is_invalid_input_and_a_bad_call_flag_is_refused() -> None:
    result = black_scholes_implied_vol(5.0, -100.0, 100.0, 0.5, 0.05, 0.0, True)
    assert isinstance(result, IVResult)
    assert result.reason is IVReason.INVALID_INPUT
    with pytest.raises(OptionInputError, match=r"^call "):
        black76_implied_vol(5.0, 100.0, 100.0, 0.5, 0.05, "put")


def test_deep_in_the_money_five_minute_option_is_vega_too_small_not_a_wrong_number() -> None:
    forward, strike, time = 24_000.0, 20_000.0, FIVE_MINUTES
    price = black76_price(forward, strike, time, 0.2, 0.065, True)
    assert price == pytest.approx(math.exp(-0.065 * time) * 4_000.0, rel=1e-15)  # pure intrinsic
    result = black76_implied_vol(price, forward, strike, time, 0.065, True)
    assert isinstance(result, IVResult)
    assert result.reason is IVReason.VEGA_TOO_SMALL
    assert math.isnan(result.vol)


def test_a_vector_reports_each_reason_alongside_the_vols() -> None:
    result = black76_implied_vol(
        np.array([5.0, 9.0, 5.0]), 110.0, 100.0, np.array([0.5, 0.5, 0.0]), 0.05, True
    )
    assert isinstance(result, IVResults)
    assert result.reason.dtype == np.uint8
    assert result.reasons() == [IVReason.BELOW_INTRINSIC] * 2 + [IVReason.NO_TIME]
    price = black76_price(110.0, 100.0, 0.5, 0.25, 0.05, True)
    mixed = black76_implied_vol(np.array([price, 1.0]), 110.0, 100.0, 0.5, 0.05, True)
    assert isinstance(mixed, IVResults)
    assert mixed.reasons() == [IVReason.OK, IVReason.BELOW_INTRINSIC]
    assert mixed.vol[0] == pytest.approx(0.25, abs=1e-12)
    assert math.isnan(mixed.vol[1])


def test_prices_computed_the_textbook_way_are_inverted_too() -> None:
    """A price from F·N(d1) − K·N(d2) (as a broker or another library computes it) is solved
    within its own rounding, in and out of the money."""
    forward, time, vol, rate = 100.0, 0.25, 0.3, 0.05
    for strike in (60.0, 90.0, 100.0, 110.0, 150.0):
        d1 = (math.log(forward / strike) + 0.5 * vol * vol * time) / (vol * math.sqrt(time))
        d2 = d1 - vol * math.sqrt(time)
        n = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))  # noqa: E731
        call = math.exp(-rate * time) * (forward * n(d1) - strike * n(d2))
        result = black76_implied_vol(call, forward, strike, time, rate, True)
        assert isinstance(result, IVResult)
        assert result.reason is IVReason.OK
        assert result.vol == pytest.approx(vol, abs=1e-8)
