"""Invariants of the risk manager, for any inputs hypothesis can find."""

from __future__ import annotations

from datetime import date, time

from hypothesis import event, given, settings
from hypothesis import strategies as st

from support.contracts import sample_contracts
from tradeloop.domain.execution.orders import OrderIntent, Side
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import InMemoryTradingControls, Portfolio, PositionExposure

DAY = date(2026, 1, 6)
CALENDAR = NSECalendar.default()
prices = st.floats(min_value=1.0, max_value=100_000.0, allow_nan=False, allow_infinity=False)
lot_sizes = st.integers(min_value=1, max_value=2_000)


def manager(capital: float = 5_000_000.0, risk_pct: float = 1.0) -> RiskManager:
    limits = RiskLimits(capital=capital, risk_per_trade_pct=risk_pct)
    return RiskManager(limits, CALENDAR, InMemoryTradingControls(), sample_contracts())


@settings(max_examples=100, deadline=None)
@given(
    capital=st.floats(min_value=1_000.0, max_value=1e9),
    risk_pct=st.floats(min_value=0.01, max_value=10.0),
    entry=prices,
    stop=prices,
    lot_size=lot_sizes,
)
def test_sizing_never_risks_more_than_the_limit(
    capital: float, risk_pct: float, entry: float, stop: float, lot_size: int
) -> None:
    risk = manager(capital, risk_pct)
    sizing = risk.size(capital, entry, stop, lot_size)
    budget = capital * risk_pct / 100
    assert sizing.quantity % lot_size == 0 and sizing.quantity >= 0
    # Floating point may land one ulp above the budget; never by more.
    assert sizing.quantity * abs(entry - stop) <= budget * (1 + 1e-12)
    assert sizing.approved == (sizing.quantity > 0)
    cap = risk.limits.max_notional_per_trade  # max_capital_per_trade_pct of the capital
    assert sizing.quantity * entry <= cap * (1 + 1e-12)
    if sizing.approved:  # and one more lot would be over the budget or the notional cap
        more = sizing.quantity + lot_size
        assert more * abs(entry - stop) > budget * (1 - 1e-12) or more * entry > cap * (1 - 1e-12)


TICK = 0.05


def on_tick(price: float) -> float:
    """Prices on the tick grid, so the contract check does not refuse every scenario."""
    return round(round(price / TICK) * TICK, 2)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[OrderIntent, Portfolio, int, int, float]:
    """An intent, a portfolio, and how much *more* exposure to add (quantity, positions, loss)."""
    is_exit = draw(st.booleans())
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    entry = draw(st.floats(min_value=5_000.0, max_value=50_000.0))
    risk_per_unit = draw(st.floats(min_value=1.0, max_value=500.0))
    reward = draw(st.floats(min_value=0.5, max_value=4.0)) * risk_per_unit
    lot = draw(st.sampled_from([1, 25, 30, 65]))
    lots = draw(st.integers(min_value=1, max_value=40))
    fields: dict[str, object] = {
        "strategy_id": "prop",
        "symbol": "X",
        "security_id": "13",
        "side": side,
        "quantity": lots * lot,
        "lot_size": lot,
        "tick_size": TICK,
        "trading_day": DAY,
        "is_exit": is_exit,
        "reference_price": on_tick(entry),
    }
    if not is_exit:
        fields["stop_loss"] = on_tick(entry - side.sign * risk_per_unit)
        fields["target"] = on_tick(entry + side.sign * reward)
    intent = OrderIntent.model_validate(fields)
    held = draw(st.integers(min_value=0, max_value=60)) * lot
    others = draw(st.integers(min_value=0, max_value=4))
    positions = [PositionExposure(security_id="13", net_quantity=-side.sign * held)] if held else []
    positions += [PositionExposure(security_id=f"o{n}", net_quantity=lot) for n in range(others)]
    portfolio = Portfolio(
        positions=tuple(positions), day_pnl=-draw(st.floats(min_value=0, max_value=200_000.0))
    )
    more_lots = draw(st.integers(min_value=0, max_value=40))
    more_positions = draw(st.integers(min_value=0, max_value=3))
    more_loss = draw(st.floats(min_value=0, max_value=100_000.0))
    return intent, portfolio, more_lots * lot, more_positions, more_loss


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios())
def test_more_exposure_never_turns_a_refusal_into_an_approval(
    scenario: tuple[OrderIntent, Portfolio, int, int, float],
) -> None:
    intent, portfolio, more_units, more_positions, more_loss = scenario
    now = ist_datetime(DAY, time(10, 0))
    before = manager().check(intent, portfolio, now)
    bigger = intent.model_copy(update={"quantity": intent.quantity + more_units})
    crowded = portfolio.model_copy(
        update={
            "positions": portfolio.positions
            + tuple(
                PositionExposure(security_id=f"more{n}", net_quantity=1)
                for n in range(more_positions)
            ),
            "day_pnl": portfolio.day_pnl - more_loss,
        }
    )
    # A fresh manager each time: the halted state persisted by one check must not leak.
    after = manager().check(bigger, crowded, now)
    event(f"before approved={before.approved}, after approved={after.approved}")
    if not before.approved:
        assert not after.approved, (before.reasons, after.reasons)
