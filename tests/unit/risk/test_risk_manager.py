"""The risk manager's pre-trade checks: each rule refuses with a reason that names the fix."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from support.contracts import sample_contracts
from support.intents import TRADING_DAY, future_entry
from tradeloop.domain.execution.orders import OrderType, Side
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime, to_ist
from tradeloop.domain.risk.decision import RiskCheck
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import (
    InMemoryTradingControls,
    Portfolio,
    PositionExposure,
    TradingState,
)
from tradeloop.errors import ConfigError
from tradeloop.settings import load_settings

DAY = TRADING_DAY
AT_0930 = ist_datetime(DAY, time(9, 30))
CALENDAR = NSECalendar.default()


@pytest.fixture
def controls() -> InMemoryTradingControls:
    return InMemoryTradingControls()


@pytest.fixture
def risk(controls: InMemoryTradingControls) -> RiskManager:
    # ₹50 lakh: one NIFTY lot (65 × 24,000 = ₹15.6 lakh notional) fits; budget ₹50,000 a trade.
    # Futures are margined: allow notional up to 5x capital so these tests isolate the risk budget.
    return RiskManager(
        RiskLimits(capital=5_000_000.0, max_capital_per_trade_pct=500.0),
        CALENDAR,
        controls,
        sample_contracts(),
    )


entry = future_entry


def long_position(units: int = 65) -> Portfolio:
    return Portfolio(positions=(PositionExposure(security_id="13", net_quantity=units),))


def test_the_risk_settings_section_is_the_risk_limits() -> None:
    settings = load_settings(risk={"capital": 200_000.0, "max_open_positions": 2})
    limits = settings.risk
    assert isinstance(limits, RiskLimits)
    assert (limits.capital, limits.max_open_positions, limits.risk_budget) == (
        200_000.0,
        2,
        2_000.0,
    )
    assert limits.max_daily_loss == pytest.approx(6_000.0)


def test_one_default_per_limit_whatever_builds_the_limits() -> None:
    assert load_settings().risk == RiskLimits()
    assert RiskLimits().max_capital_per_trade_pct == 500.0


def test_a_non_finite_capital_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"risk\.capital"):
        load_settings(risk={"capital": float("inf")})


def test_entry_window_must_start_before_it_ends() -> None:
    with pytest.raises(ValueError, match="entry_window_start"):
        RiskLimits(capital=1.0, entry_window_start=time(15, 0), entry_window_end=time(9, 20))


def test_good_long_entry_is_approved_with_its_sized_quantity(risk: RiskManager) -> None:
    decision = risk.check(entry(), Portfolio(), AT_0930)
    assert decision.approved, decision.reasons
    assert decision.sized_quantity == 455  # ₹50,000 / ₹100 per unit = 500 → 7 lots of 65


def test_sizing_stays_within_the_notional_cap(controls: InMemoryTradingControls) -> None:
    # By risk 7 lots of 65, but 7 × 65 × 24,000 is above the ₹5,000,000 cap (100% of capital):
    # 5,000,000 / (24,000 × 65) = 3.2 → 3 lots; the intent (1 lot) is approved as it stands.
    limits = RiskLimits(capital=5_000_000.0, max_capital_per_trade_pct=100.0)
    capped = RiskManager(limits, CALENDAR, controls, sample_contracts())
    assert capped.size(5_000_000.0, 24_000.0, 23_900.0, 65).quantity == 195
    decision = capped.check(entry(), Portfolio(), AT_0930)
    assert decision.approved, decision.reasons
    assert decision.sized_quantity == 195


def test_good_short_entry_is_approved(risk: RiskManager) -> None:
    short = entry(side=Side.SELL, stop_loss=24_100.0, target=23_800.0)
    assert risk.check(short, Portfolio(), AT_0930).approved


def test_sizing_zero_lots_is_refused_with_the_reason(risk: RiskManager) -> None:
    sizing = risk.size(100_000.0, 24_000.0, 23_000.0, 65)
    assert not sizing.approved
    assert "zero lots" in sizing.reason and "₹1,000.00 budget" in sizing.reason


def test_sizing_with_stop_equal_to_entry_is_refused(risk: RiskManager) -> None:
    sizing = risk.size(100_000.0, 24_000.0, 24_000.0, 65)
    assert sizing.quantity == 0 and "equals entry" in sizing.reason


def test_sizing_risks_at_most_the_budget(risk: RiskManager) -> None:
    sizing = risk.size(5_000_000.0, 24_000.0, 23_900.0, 65)
    assert (sizing.quantity, sizing.lots) == (455, 7)
    assert sizing.risk_amount <= sizing.budget


@pytest.mark.parametrize(
    ("overrides", "check", "fragment"),
    [
        ({"stop_loss": None}, RiskCheck.NO_STOP_LOSS, "stop loss is required"),
        ({"target": None}, RiskCheck.NO_TARGET, "target is required"),
        ({"reference_price": None}, RiskCheck.NO_ENTRY_PRICE, "reference_price"),
        ({"stop_loss": 24_100.0}, RiskCheck.LEVELS_ORDER, "target > entry > stop"),
        ({"target": 23_950.0}, RiskCheck.LEVELS_ORDER, "target > entry > stop"),
        ({"target": 24_100.0}, RiskCheck.REWARD_RISK, "reward:risk 1.00 is below"),
        ({"quantity": 520}, RiskCheck.QUANTITY_ABOVE_RISK, "above the 455 units"),
        ({"trading_day": DAY - timedelta(days=1)}, RiskCheck.STALE_INTENT, "build a new intent"),
        ({"stop_loss": 10_000.0, "target": 50_000.0}, RiskCheck.ZERO_LOTS, "zero lots"),
    ],
)
def test_bad_entry_is_refused_with_a_reason_that_names_the_fix(
    risk: RiskManager, overrides: dict[str, object], check: RiskCheck, fragment: str
) -> None:
    decision = risk.check(entry(**overrides), Portfolio(), AT_0930)
    assert not decision.approved
    assert check in decision.checks
    assert any(fragment in reason for reason in decision.reasons), decision.reasons


def test_an_entry_without_a_target_is_refused_where_the_broker_needs_one(
    risk: RiskManager,
) -> None:
    decision = risk.check(entry(target=None), Portfolio(), AT_0930)
    assert decision.checks == (RiskCheck.NO_TARGET,)
    assert "give the strategy a take_profit" in decision.reasons[0]


def test_a_stop_only_entry_passes_where_the_broker_rests_a_stop_alone(
    controls: InMemoryTradingControls,
) -> None:
    paper = RiskManager(
        RiskLimits(capital=5_000_000.0, max_capital_per_trade_pct=500.0),
        CALENDAR,
        controls,
        sample_contracts(),
        require_target=False,
    )
    assert paper.check(entry(target=None), Portfolio(), AT_0930).approved
    wrong_side = paper.check(entry(target=None, stop_loss=24_100.0), Portfolio(), AT_0930)
    assert wrong_side.checks == (RiskCheck.LEVELS_ORDER,)
    assert "entry > stop" in wrong_side.reasons[0]
    short = paper.check(entry(target=None, side=Side.SELL), Portfolio(), AT_0930)
    assert short.checks == (RiskCheck.LEVELS_ORDER,)
    assert "entry < stop" in short.reasons[0]
    # Everything else still applies: a stop-only entry is sized like any other.
    oversized = paper.check(entry(target=None, quantity=520), Portfolio(), AT_0930)
    assert RiskCheck.QUANTITY_ABOVE_RISK in oversized.checks


def test_short_with_levels_on_the_long_sides_is_refused(risk: RiskManager) -> None:
    decision = risk.check(entry(side=Side.SELL), Portfolio(), AT_0930)
    assert decision.checks == (RiskCheck.LEVELS_ORDER,)
    assert "target < entry < stop" in decision.reasons[0]


def test_limit_entry_is_checked_at_its_limit_price(risk: RiskManager) -> None:
    limit = entry(order_type=OrderType.LIMIT, price=24_000.0, reference_price=None)
    assert risk.check(limit, Portfolio(), AT_0930).approved


def test_notional_above_capital_share_is_refused(controls: InMemoryTradingControls) -> None:
    tight = RiskManager(
        RiskLimits(capital=5_000_000.0, max_capital_per_trade_pct=20.0),
        CALENDAR,
        controls,
        sample_contracts(),
    )
    decision = tight.check(entry(), Portfolio(), AT_0930)
    assert decision.checks == (RiskCheck.NOTIONAL,)
    assert "trade fewer lots" in decision.reasons[0]


@pytest.mark.parametrize(
    ("at", "check"),
    [
        (ist_datetime(DAY, time(9, 16)), RiskCheck.ENTRY_WINDOW),
        (ist_datetime(DAY, time(15, 1)), RiskCheck.ENTRY_WINDOW),
        (ist_datetime(DAY, time(8, 0)), RiskCheck.MARKET_CLOSED),
        (ist_datetime(date(2026, 1, 26), time(10, 0)), RiskCheck.MARKET_CLOSED),  # Republic Day
    ],
)
def test_entries_outside_the_window_or_session_are_refused(
    risk: RiskManager, at: datetime, check: RiskCheck
) -> None:
    decision = risk.check(entry(trading_day=to_ist(at).date()), Portfolio(), at)
    assert decision.checks == (check,)


def test_window_edges_are_inclusive(risk: RiskManager) -> None:
    assert risk.check(entry(), Portfolio(), ist_datetime(DAY, time(9, 20))).approved
    assert risk.check(entry(), Portfolio(), ist_datetime(DAY, time(15, 0))).approved


def test_max_open_positions_counts_pending_entries(risk: RiskManager) -> None:
    portfolio = Portfolio(
        positions=(
            PositionExposure(security_id="25", net_quantity=30),
            PositionExposure(security_id="26", net_quantity=-30),
            PositionExposure(security_id="27", net_quantity=0, pending=True),
        )
    )
    decision = risk.check(entry(), portfolio, AT_0930)
    assert decision.checks == (RiskCheck.MAX_POSITIONS,)


def test_an_entry_does_not_count_its_own_pending_position(risk: RiskManager) -> None:
    intent = entry()
    # Two others are open and the entry's own PENDING position (written before the check).
    portfolio = Portfolio(
        positions=(
            PositionExposure(security_id="25", position_id="other-1", net_quantity=30),
            PositionExposure(security_id="26", position_id="other-2", net_quantity=-30),
            PositionExposure(security_id="13", position_id=intent.id, net_quantity=0, pending=True),
        )
    )

    assert risk.check(intent, portfolio, AT_0930).approved  # limit 3: this is the third
    crowded = portfolio.model_copy(
        update={
            "positions": (
                *portfolio.positions,
                PositionExposure(security_id="27", position_id="other-3", net_quantity=65),
            )
        }
    )
    refused = risk.check(intent, crowded, AT_0930)
    assert refused.reasons == ("3 other positions are open or pending; the limit is 3",)


def test_daily_loss_refuses_and_halts_the_day(
    risk: RiskManager, controls: InMemoryTradingControls
) -> None:
    losing = Portfolio(day_pnl=-150_000.0)  # 3% of ₹50 lakh

    decision = risk.check(entry(), losing, AT_0930)

    assert RiskCheck.DAILY_LOSS in decision.checks
    assert controls.day_state(DAY).state is TradingState.HALTED
    # The day stays halted even once the P&L recovers.
    assert RiskCheck.HALTED in risk.check(entry(), Portfolio(), AT_0930).checks


def test_reducing_state_refuses_entries_but_allows_exits(
    risk: RiskManager, controls: InMemoryTradingControls
) -> None:
    controls.set_day_state(DAY, TradingState.REDUCING, "RBI policy at 10:00", AT_0930)
    exit_ = entry(side=Side.SELL, is_exit=True, stop_loss=None, target=None)

    assert risk.check(entry(), Portfolio(), AT_0930).checks == (RiskCheck.REDUCING,)
    assert risk.check(exit_, long_position(), AT_0930).approved


def test_caller_cannot_loosen_the_persisted_state(
    risk: RiskManager, controls: InMemoryTradingControls
) -> None:
    controls.set_day_state(DAY, TradingState.REDUCING, "manual", AT_0930)
    claims_active = Portfolio(trading_state=TradingState.ACTIVE)
    assert not risk.check(entry(), claims_active, AT_0930).approved


def test_kill_switch_refuses_entries_and_ordinary_exits(
    risk: RiskManager, controls: InMemoryTradingControls
) -> None:
    controls.set_kill_switch(True, "feed is down", AT_0930)
    exit_ = entry(side=Side.SELL, is_exit=True, stop_loss=None, target=None)

    decision = risk.check(entry(), Portfolio(), AT_0930)
    assert decision.checks == (RiskCheck.KILL_SWITCH,)
    assert "feed is down" in decision.reasons[0] and "kill-switch off" in decision.reasons[0]
    assert risk.check(exit_, long_position(), AT_0930).checks == (RiskCheck.KILL_SWITCH,)
    assert risk.check(exit_, long_position(), AT_0930, flatten=True).approved


def test_exit_that_would_flip_the_position_is_refused(risk: RiskManager) -> None:
    too_many = entry(side=Side.SELL, quantity=130, is_exit=True, stop_loss=None, target=None)
    same_side = entry(is_exit=True, stop_loss=None, target=None)
    decision = risk.check(too_many, long_position(65), AT_0930)
    assert decision.checks == (RiskCheck.NOT_REDUCING,)
    assert "+65 units" in decision.reasons[0]
    assert risk.check(same_side, long_position(65), AT_0930).checks == (RiskCheck.NOT_REDUCING,)
    assert risk.check(too_many, Portfolio(), AT_0930).checks == (RiskCheck.NOT_REDUCING,)


def test_exits_skip_entry_rules(risk: RiskManager) -> None:
    # After the entry window, beyond the position limit, with no stop: a true exit still goes.
    late = ist_datetime(DAY, time(15, 20))
    exit_ = entry(side=Side.SELL, is_exit=True, stop_loss=None, target=None)
    crowded = Portfolio(
        positions=tuple(
            PositionExposure(security_id=s, net_quantity=65) for s in ["13", "25", "26"]
        )
    )
    assert risk.check(exit_, crowded, late).approved


def test_flatten_path_refuses_entries(risk: RiskManager) -> None:
    decision = risk.check(entry(), Portfolio(), AT_0930, flatten=True)
    assert RiskCheck.FLATTEN_NOT_EXIT in decision.checks


def test_reward_risk_lost_only_to_tick_rounding_is_not_refused(risk: RiskManager) -> None:
    """A spec's 1.5 R target, rounded toward the entry (and the reference away from the stop)
    onto the tick, is a hair under 1.5 R: that rounding alone is no reason to refuse it."""
    from tradeloop.domain.execution.contract import tick_of

    base = entry()
    tick = tick_of(base, risk.contracts)
    assert tick is not None
    reference, stop = base.reference_price, base.stop_loss
    assert reference is not None and stop is not None
    one_and_a_half = reference + 1.5 * (reference - stop)
    rounded = entry(target=one_and_a_half - tick)
    assert risk.check(rounded, Portfolio(), AT_0930).approved
    short_of_it = entry(target=one_and_a_half - 3 * tick)
    decision = risk.check(short_of_it, Portfolio(), AT_0930)
    assert RiskCheck.REWARD_RISK in decision.checks


def test_a_reward_risk_a_hair_short_says_by_how_much(risk: RiskManager) -> None:
    """1.496 R would print as "1.50 is below the minimum 1.5": the digits that differ show."""
    decision = risk.check(
        entry(reference_price=24_000.0, stop_loss=23_900.0, target=24_149.6), Portfolio(), AT_0930
    )
    assert decision.checks == (RiskCheck.REWARD_RISK,)
    assert "reward:risk 1.4960 is below the minimum 1.5" in decision.reasons[0]
