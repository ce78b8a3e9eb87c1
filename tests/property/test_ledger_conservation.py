"""Cash + position value is conserved net of costs, over any sequence of fills in the ledger.

Two independent views of the same fills: the cash the database sums (every fill's cash flow) and
the average-cost book walked in Python (realised + unrealised P&L and charges). They must agree
for every sequence, with the positions still open or flattened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.orders import Side
from tradeloop.storage.ledger import open_ledger

INITIAL = 1_000_000.0
START = datetime(2026, 1, 6, 4, 0, tzinfo=UTC)

fill_specs = st.lists(
    st.tuples(
        st.sampled_from(["13", "25"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=20),
        st.floats(min_value=50.0, max_value=60_000.0),
        st.floats(min_value=0.0, max_value=500.0),
    ),
    min_size=1,
    max_size=30,
)
marks = st.fixed_dictionaries(
    {
        "13": st.floats(min_value=50.0, max_value=60_000.0),
        "25": st.floats(min_value=50.0, max_value=60_000.0),
    }
)


def as_fills(specs: list[tuple[str, Side, int, float, float]]) -> list[BrokerFill]:
    return [
        BrokerFill(
            fill_id=f"f{n}",
            order_id=f"o{n}",
            correlation_id=f"c{n}",
            security_id=security_id,
            side=side,
            quantity=lots * 25,
            price=price,
            ts=START + timedelta(seconds=n),
            costs={"brokerage": min(20.0, cost), "stt": cost},
        )
        for n, (security_id, side, lots, price, cost) in enumerate(specs)
    ]


@settings(max_examples=40, deadline=None)
@given(specs=fill_specs, mark=marks, flatten=st.booleans())
def test_cash_plus_positions_equals_initial_plus_pnl_net_of_costs(
    specs: list[tuple[str, Side, int, float, float]], mark: dict[str, float], flatten: bool
) -> None:
    ledger = open_ledger("sqlite://")  # a private in-memory database per example
    fills = as_fills(specs)
    if flatten:  # close whatever is open at the marks
        net: dict[str, int] = {}
        for fill in fills:
            net[fill.security_id] = net.get(fill.security_id, 0) + fill.side.sign * fill.quantity
        for security_id, units in net.items():
            if units:
                fills.append(
                    BrokerFill(
                        fill_id=f"flat-{security_id}",
                        order_id="flat",
                        correlation_id="flat",
                        security_id=security_id,
                        side=Side.SELL if units > 0 else Side.BUY,
                        quantity=abs(units),
                        price=mark[security_id],
                        ts=START + timedelta(hours=1),
                        costs={"brokerage": 20.0},
                    )
                )
    for fill in fills:
        assert ledger.record_fill(fill)

    account = ledger.account(INITIAL, mark)

    scale = sum(f.price * f.quantity for f in fills) + INITIAL
    expected_cash = INITIAL + sum(f.cash_flow for f in fills)
    assert account.cash == pytest.approx(expected_cash, rel=1e-12, abs=scale * 1e-12)
    assert account.equity == pytest.approx(INITIAL + account.net_pnl, abs=scale * 1e-9)
    assert account.costs == pytest.approx(sum(f.cost_total for f in fills), abs=1e-6)
    if flatten:
        assert account.position_value == 0
        assert account.unrealized_pnl == 0
        assert account.cash - INITIAL == pytest.approx(
            account.realized_pnl - account.costs, abs=scale * 1e-9
        )
    ledger.close()
