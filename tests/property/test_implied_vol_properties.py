"""Implied volatility round trip: any price of ours whose vol it pins comes back within 1e-8;
any other comes back NaN with a reason. Put–call parity holds wherever the prices are drawn."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.options.implied_vol import IVReason, IVResult, black76_implied_vol
from tradeloop.domain.options.pricing import black76_greeks, black76_price

EPSILON = float(np.finfo(np.float64).eps)
FIVE_MINUTES = 5 / (365 * 24 * 60)

log_moneyness = st.floats(min_value=-1.0, max_value=1.0)
times = st.floats(min_value=FIVE_MINUTES, max_value=2.0)
vols = st.floats(min_value=0.05, max_value=2.0)
forwards = st.floats(min_value=1.0, max_value=100_000.0)
rates = st.floats(min_value=-0.01, max_value=0.15)


@settings(max_examples=400, deadline=None)
@given(log_moneyness, times, vols, forwards, rates, st.booleans())
def test_implied_vol_recovers_the_vol_of_its_own_price_or_says_why_not(
    moneyness: float, time: float, vol: float, forward: float, rate: float, call: bool
) -> None:
    strike = forward * math.exp(moneyness)
    price = black76_price(forward, strike, time, vol, rate, call)
    vega = black76_greeks(forward, strike, time, vol, rate, call).vega * 100
    assert isinstance(price, float) and isinstance(vega, float)
    result = black76_implied_vol(price, forward, strike, time, rate, call)
    assert isinstance(result, IVResult)
    if result.reason is IVReason.OK:
        assert abs(result.vol - vol) <= 1e-8
        return
    assert math.isnan(result.vol)
    assert result.reason is IVReason.VEGA_TOO_SMALL
    # NaN only where moving σ by 1e-8 moves the price by at most 4 of its ulps (or the time
    # value is within 1e-290 of underflow).
    intrinsic = math.exp(-rate * time) * max((forward - strike) if call else (strike - forward), 0)
    time_value = (price - intrinsic) / (math.exp(-rate * time) * math.sqrt(forward * strike))
    assert time_value < 1e-290 or vega * 1e-8 <= 4.0 * EPSILON * price


@settings(max_examples=300, deadline=None)
@given(log_moneyness, times, vols, forwards, rates)
def test_put_call_parity(
    moneyness: float, time: float, vol: float, forward: float, rate: float
) -> None:
    strike = forward * math.exp(moneyness)
    call = black76_price(forward, strike, time, vol, rate, True)
    put = black76_price(forward, strike, time, vol, rate, False)
    assert isinstance(call, float) and isinstance(put, float)
    parity = math.exp(-rate * time) * (forward - strike)
    assert abs(call - put - parity) <= 1e-9 * max(1.0, forward / 100.0)
