"""The kernel's sizing (`risk_quantity_nb`) is the risk manager's `risk_quantity`, exactly."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tradeloop.domain.risk.sizing import risk_quantity
from tradeloop.domain.risk.sizing_kernel import risk_quantity_nb

prices = st.floats(min_value=1.0, max_value=100_000.0, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    capital=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
    risk_fraction=st.floats(min_value=0.0, max_value=0.1, allow_nan=False),
    entry=prices,
    stop=prices,
    lot_size=st.integers(min_value=1, max_value=1000),
    max_notional=st.one_of(st.just(math.inf), st.floats(min_value=1.0, max_value=1e9)),
)
def test_compiled_twin_agrees_with_python_sizing(
    capital: float,
    risk_fraction: float,
    entry: float,
    stop: float,
    lot_size: int,
    max_notional: float,
) -> None:
    # Beyond 2**53 units (a stop a few ulps from the entry) Python's int keeps growing while the
    # compiled int64 cannot: the kernel then sizes 0 and skips; no instrument trades that many.
    risk = abs(entry - stop)
    assume(risk == 0 or capital * risk_fraction / risk / lot_size < 2**53)
    assert risk_quantity_nb(
        capital, risk_fraction, entry, stop, lot_size, max_notional
    ) == risk_quantity(capital, risk_fraction, entry, stop, lot_size, max_notional)


def test_twin_agrees_on_the_edge_cases() -> None:
    cases = [
        (1_000_000.0, 0.01, 24000.0, 23760.0, 65),  # 0.64 lots -> 0
        (1_000_000.0, 0.02, 24000.0, 23760.0, 65),  # 1.28 lots -> 65
        (1_000_000.0, 0.01, 100.0, 100.0, 1),  # stop at entry -> 0
        (0.0, 0.01, 100.0, 99.0, 1),  # no capital -> 0
        (1_000_000.0, 0.01, 100.0, math.inf, 1),  # infinite risk -> 0
        (1_000_000.0, 0.01, 100.0, math.nan, 1),  # NaN stop -> 0
        (30.0, 0.1, 1.0, 0.0, 3),  # exactly 1 lot
    ]
    for case in cases:
        assert risk_quantity_nb(*case, math.inf) == risk_quantity(*case), case


def test_notional_cap_limits_a_tight_stop_to_whole_lots_within_the_cap() -> None:
    # Risk alone: 10,000 / 2 points / 65 = 76.9 lots; the cap of 1,000,000 at 24,000 allows
    # 1,000,000 / (24,000 × 65) = 0.64 lots per 65 units -> 0 lots... so take a 5M cap: 3.2 -> 3.
    args = (1_000_000.0, 0.01, 24_000.0, 23_998.0, 65)
    assert risk_quantity(*args) == 76 * 65
    assert risk_quantity(*args, max_notional=5_000_000.0) == 3 * 65
    assert risk_quantity_nb(*args, 5_000_000.0) == 3 * 65
