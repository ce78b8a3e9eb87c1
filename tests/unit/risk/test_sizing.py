"""`risk_quantity`: the one sizing formula, compiled, called by the risk manager and the kernel."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.sizing import risk_quantity, size_trade

prices = st.floats(min_value=1.0, max_value=100_000.0, allow_nan=False)


@pytest.mark.parametrize(
    ("capital", "risk_fraction", "entry", "stop", "lot_size", "expected"),
    [
        (1_000_000.0, 0.01, 24000.0, 23760.0, 65, 0),  # 0.64 lots: none
        (1_000_000.0, 0.02, 24000.0, 23760.0, 65, 65),  # 1.28 lots: one
        (1_000_000.0, 0.02, 23760.0, 24000.0, 65, 65),  # a short's stop above the entry
        (30.0, 0.1, 1.0, 0.0, 3, 3),  # exactly one lot
        (1_000_000.0, 0.01, 100.0, 100.0, 1, 0),  # stop at the entry
        (0.0, 0.01, 100.0, 99.0, 1, 0),  # no capital
        (-5.0, 0.01, 100.0, 99.0, 1, 0),  # negative capital
        (1_000_000.0, 0.01, 100.0, math.inf, 1, 0),  # infinite risk
        (1_000_000.0, 0.01, 100.0, math.nan, 1, 0),  # NaN stop
    ],
)
def test_sizes_whole_lots_within_the_budget_or_zero(
    capital: float, risk_fraction: float, entry: float, stop: float, lot_size: int, expected: int
) -> None:
    assert risk_quantity(capital, risk_fraction, entry, stop, lot_size) == expected


def test_notional_cap_limits_a_tight_stop_to_whole_lots_within_the_cap() -> None:
    # Risk alone: 10,000 / 2 points / 65 = 76.9 lots; a 5,000,000 cap at 24,000 allows
    # 5,000,000 / (24,000 × 65) = 3.2 lots -> 3.
    args = (1_000_000.0, 0.01, 24_000.0, 23_998.0, 65)
    assert risk_quantity(*args) == 76 * 65
    assert risk_quantity(*args, max_notional=5_000_000.0) == 3 * 65
    assert risk_quantity(*args, 5_000_000.0) == 3 * 65


@pytest.mark.parametrize("lot_size", [0, -65])
def test_a_lot_size_that_is_not_positive_is_refused_by_name(lot_size: int) -> None:
    with pytest.raises(ValueError, match="lot_size must be positive"):
        risk_quantity(1_000_000.0, 0.01, 100.0, 99.0, lot_size)
    with pytest.raises(ValueError, match=f"lot_size must be positive, got {lot_size}"):
        size_trade(RiskLimits(), 1_000_000.0, 100.0, 99.0, lot_size)


@pytest.mark.parametrize("lot_size", [1, 65, 4_000])
def test_a_stop_a_hair_from_the_entry_saturates_instead_of_overflowing(lot_size: int) -> None:
    # 10,000,000 / 1.4e-14 per unit is ~7e20 units: more than any order, and than int64 holds.
    entry = 100.0
    stop = math.nextafter(entry, 0.0)
    quantity = risk_quantity(1e9, 0.01, entry, stop, lot_size)
    assert quantity == min(2**53, (2**63 - 1) // lot_size) * lot_size
    assert 0 < quantity * abs(entry - stop) <= 1e9 * 0.01


@settings(max_examples=200, deadline=None)
@given(
    capital=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
    risk_fraction=st.floats(min_value=0.0, max_value=0.1, allow_nan=False),
    entry=prices,
    stop=prices,
    lot_size=st.integers(min_value=1, max_value=2_000),
    max_notional=st.one_of(st.just(math.inf), st.floats(min_value=0.0, max_value=1e10)),
)
@example(  # a stop one ulp from the entry: saturates at 2**53 units
    capital=33.0,
    risk_fraction=0.0625,
    entry=1.0,
    stop=1.0000000000000002,
    lot_size=1,
    max_notional=math.inf,
)
def test_loss_at_the_stop_and_notional_stay_within_their_limits(
    capital: float,
    risk_fraction: float,
    entry: float,
    stop: float,
    lot_size: int,
    max_notional: float,
) -> None:
    quantity = risk_quantity(capital, risk_fraction, entry, stop, lot_size, max_notional)
    budget = capital * risk_fraction
    assert quantity >= 0 and quantity % lot_size == 0
    # Floating point may land one ulp above a limit; never by more.
    assert quantity * abs(entry - stop) <= max(budget, 0.0) * (1 + 1e-12)
    assert quantity * entry <= max_notional * (1 + 1e-12)
    more = quantity + lot_size  # and one more lot would break one of the limits, short of
    saturated = quantity == min(2**53, (2**63 - 1) // lot_size) * lot_size  # the saturation
    if entry != stop and budget > 0 and not saturated:
        assert more * abs(entry - stop) > budget * (1 - 1e-12) or more * entry > max_notional * (
            1 - 1e-12
        )
