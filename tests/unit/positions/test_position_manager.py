"""The position manager: state machine, stop rules, kill switch, halt, square-off, reconcile."""

from __future__ import annotations

import pytest
from session_kit import Session, at, bar, build_session, entry

from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus, Side
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.positions.stops import stop_after_close
from tradeloop.domain.risk.state import TradingState
from tradeloop.errors import OrderStateUnknownError, ReconciliationError, UserError

TRAIL = ExitPlan(trail_offset=1.5, break_even_r=1.0)


def opened(session: Session, plan: ExitPlan = TRAIL, side: Side = Side.BUY) -> str:
    """A position entered at the 09:30 close (100) and filled at the 09:31 open (100)."""
    session.replay.bar(
        bar(9, 30, 99.5, 100.2, 99.4, 100.0), lambda b: [(entry(side, b.close), plan)]
    )
    session.replay.bar(bar(9, 31, 100.0, 100.4, 99.6, 100.1))
    [position] = session.store.positions()
    assert position.state.holds_units and position.entry_price == 100.0
    return position.position_id


def test_stop_rules_never_loosen_and_name_the_rule() -> None:
    plan = ExitPlan(trail_offset=1.0, break_even_r=1.0)
    trailed = stop_after_close(PositionState.OPEN, 1, 101.5, 100.0, 98.0, 98.0, plan)
    assert trailed is not None and (trailed.stop, trailed.state) == (100.5, PositionState.TRAILING)
    assert stop_after_close(PositionState.TRAILING, 1, 100.2, 100.0, 98.0, 100.5, plan) is None
    even = stop_after_close(PositionState.OPEN, -1, 98.0, 100.0, 102.0, 102.0, plan)
    assert even is not None and (even.stop, even.state) == (99.0, PositionState.TRAILING)
    no_trail = ExitPlan(break_even_r=1.0)
    moved = stop_after_close(PositionState.OPEN, -1, 98.0, 100.0, 102.0, 102.0, no_trail)
    assert moved is not None and (moved.stop, moved.state) == (100.0, PositionState.BREAK_EVEN)
    short_trail = ExitPlan(trail_offset=1.0, break_even_r=None)
    lowered = stop_after_close(PositionState.OPEN, -1, 97.0, 100.0, 102.0, 102.0, short_trail)
    assert lowered is not None and (lowered.stop, lowered.rule) == (98.0, "trailing")
    looser = stop_after_close(PositionState.TRAILING, -1, 97.5, 100.0, 102.0, 98.0, short_trail)
    assert looser is None


def test_entry_is_written_before_it_is_sent_and_opened_on_its_fill(session: Session) -> None:
    position_id = opened(session)

    kinds = [event.kind for event in session.store.events(position_id)]
    assert kinds[:2] == ["created", "entry_filled"]
    record = session.journal.get(position_id)
    assert record is not None and record.status is OrderStatus.FILLED


def test_opening_the_same_intent_twice_makes_one_position_and_one_order(
    session: Session,
) -> None:
    session.clock.set(at(9, 31))
    intent = entry()
    first = session.manager.open(intent, TRAIL)
    second = session.manager.open(intent, TRAIL)

    assert first.position_id == second.position_id
    assert len(session.store.positions()) == 1 and len(session.broker.orders()) == 1


def test_refused_entry_is_rejected_with_the_risk_reasons(session: Session) -> None:
    session.clock.set(at(9, 31))

    position = session.manager.open(entry(stop_loss=None))

    assert position.state is PositionState.REJECTED
    assert "stop loss is required" in position.message
    assert session.broker.orders() == []


def test_exits_are_not_opened_as_positions(session: Session) -> None:
    with pytest.raises(UserError, match="open\\(\\) takes entries"):
        session.manager.open(entry(is_exit=True, stop_loss=None, target=None))


def test_trailing_stop_is_written_then_sent_then_acknowledged(session: Session) -> None:
    position_id = opened(session)

    session.replay.bar(bar(9, 32, 100.1, 102.6, 100.0, 102.5))

    position = session.store.position(position_id)
    assert position is not None
    assert (position.state, position.stop, position.broker_stop) == (
        PositionState.TRAILING, 101.0, 101.0)  # fmt: skip
    kinds = [event.kind for event in session.store.events(position_id)]
    assert kinds[-2:] == ["stop_moved", "stop_acknowledged"]
    assert session.broker.stop_of("PAPER-000001") == 101.0


def test_target_leg_fill_closes_the_position_with_a_trade(session: Session) -> None:
    position_id = opened(session, ExitPlan(break_even_r=None))

    session.replay.bar(bar(9, 32, 100.1, 105.5, 100.0, 105.2))

    [trade] = session.store.trades()
    assert (trade.position_id, trade.exit_price, trade.exit_reason) == (
        position_id, 105.0, ExitReason.TARGET)  # fmt: skip
    assert trade.gross_pnl == pytest.approx(65 * 5.0)
    assert trade.net_pnl == pytest.approx(trade.gross_pnl - trade.costs) and trade.costs > 0
    assert trade.r_multiple == pytest.approx(trade.net_pnl / (65 * 2.0))


def test_square_off_closes_open_positions_at_1515(session: Session) -> None:
    opened(session, ExitPlan(break_even_r=None))
    session.replay.bar(bar(15, 14, 100.1, 100.3, 99.9, 100.2))

    session.replay.bar(bar(15, 15, 100.4, 100.5, 100.2, 100.3))

    [trade] = session.store.trades()
    assert (trade.exit_price, trade.exit_reason) == (100.4, ExitReason.SQUARE_OFF)
    assert session.manager.portfolio().open_position_count == 0


def test_kill_switch_flattens_and_refuses_new_entries(session: Session) -> None:
    opened(session, ExitPlan(break_even_r=None))
    session.controls.set_kill_switch(True, "feed looks wrong", at(9, 32))

    session.replay.bar(
        bar(9, 33, 100.3, 100.4, 100.1, 100.2),
        lambda b: [
            (entry(sequence=1, reference_price=b.close, stop_loss=98.0, target=105.0), TRAIL)
        ],
    )

    [trade] = session.store.trades()
    assert trade.exit_reason is ExitReason.KILL_SWITCH and trade.exit_price == 100.3
    refused = [p for p in session.store.positions() if p.state is PositionState.REJECTED]
    assert len(refused) == 1 and "kill switch is on" in refused[0].message


def test_daily_loss_halts_the_day_and_flattens() -> None:
    small = build_session(capital=2_000_000.0, max_daily_loss_pct=0.0001)  # ₹2 of loss halts
    opened(small, ExitPlan(break_even_r=None))
    small.replay.bar(bar(9, 32, 100.0, 100.1, 99.0, 99.1))  # marked ₹58.5 down, plus costs

    small.replay.bar(bar(9, 33, 99.2, 99.3, 99.0, 99.1))

    [trade] = small.store.trades()
    assert trade.exit_reason is ExitReason.HALTED
    assert small.controls.day_state(at(9, 33).date()).state is TradingState.HALTED


def test_reconcile_reports_units_the_ledger_does_not_know(session: Session) -> None:
    session.clock.set(at(9, 31))
    session.broker.place(entry(stop_loss=None, target=None, strategy_id="manual"))
    session.broker.on_price("13", 100.0, at(9, 31))

    with pytest.raises(ReconciliationError, match="ledger holds \\+0 units, paper holds \\+65"):
        session.manager.start()
    report = session.manager.start(strict=False)
    assert {item.kind for item in report.drift} == {"quantity", "unknown_fill"}


def test_reconcile_rejects_an_entry_that_was_written_but_never_sent(session: Session) -> None:
    session.clock.set(at(9, 31))
    written = session.manager.open(entry(stop_loss=None))  # refused: never sent
    assert written.state is PositionState.REJECTED

    report = session.manager.start()

    assert report.ok


class LosesEveryCreate(PaperBroker):
    """A create whose request never arrived and whose answer never came: outcome unknown."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        return BrokerOrder.unknown(intent, "read timed out")


def test_unknown_entry_is_never_guessed_closed_while_the_order_could_still_arrive() -> None:
    lossy = build_session(broker_class=LosesEveryCreate)
    lossy.clock.set(at(9, 31))
    intent = entry()

    with pytest.raises(OrderStateUnknownError):
        lossy.manager.open(intent)

    position = lossy.store.position(intent.id)
    assert position is not None and position.state is PositionState.UNKNOWN
    lossy.clock.set(at(9, 32))  # a minute later the timed-out create could still arrive
    assert lossy.manager.on_time() == []
    assert lossy.store.position(intent.id).state is PositionState.UNKNOWN  # type: ignore[union-attr]
    with pytest.raises(OrderStateUnknownError, match="reconcile it"):
        lossy.manager.close(intent.id, ExitReason.MANUAL)
    with pytest.raises(ReconciliationError, match="unknown_entry"):
        lossy.manager.start()


def test_unknown_entry_still_absent_two_minutes_later_is_settled_not_placed() -> None:
    lossy = build_session(broker_class=LosesEveryCreate)
    lossy.clock.set(at(9, 31))
    intent = entry()
    with pytest.raises(OrderStateUnknownError):
        lossy.manager.open(intent)

    lossy.clock.set(at(9, 34))
    lossy.manager.on_time()

    position = lossy.store.position(intent.id)
    assert position is not None and position.state is PositionState.REJECTED
    assert "not placed" in position.message and "not re-sent" in position.message
    assert lossy.manager.portfolio().open_position_count == 0
    assert lossy.broker.orders() == []  # nothing was ever sent again
    assert lossy.manager.start().ok


def test_tighter_manual_stop_is_rounded_written_then_sent_and_acknowledged(
    session: Session,
) -> None:
    position_id = opened(session, ExitPlan(break_even_r=None))  # stop 98, last close 100.1

    moved = session.manager.tighten_stop(position_id, 99.02)

    assert (moved.stop, moved.broker_stop, moved.state) == (99.05, 99.05, PositionState.OPEN)
    events = session.store.events(position_id)
    assert [event.kind for event in events[-2:]] == ["stop_moved", "stop_acknowledged"]
    assert events[-2].detail == {"from": 98.0, "to": 99.05, "rule": "manual"}
    assert session.store.position(position_id) == moved
    assert session.broker.stop_of("PAPER-000001") == 99.05


@pytest.mark.parametrize(("side", "stop"), [(Side.BUY, 97.5), (Side.BUY, 98.0), (Side.SELL, 102.5)])
def test_looser_manual_stop_is_refused_and_nothing_is_written(
    session: Session, side: Side, stop: float
) -> None:
    position_id = opened(session, ExitPlan(break_even_r=None), side)
    before = session.store.events(position_id)

    with pytest.raises(UserError, match=f"position {position_id}: .*not tighter"):
        session.manager.tighten_stop(position_id, stop)

    assert session.store.events(position_id) == before


def test_manual_stop_of_a_pending_or_missing_position_is_refused(session: Session) -> None:
    session.clock.set(at(9, 31))
    pending = session.manager.open(entry(), TRAIL)
    assert pending.state is PositionState.PENDING
    before = session.store.events(pending.position_id)

    with pytest.raises(UserError, match=f"position {pending.position_id} is PENDING"):
        session.manager.tighten_stop(pending.position_id, 99.0)
    with pytest.raises(UserError, match="no position nope"):
        session.manager.tighten_stop("nope", 99.0)
    assert session.store.events(pending.position_id) == before


def test_manual_stop_beyond_the_last_mark_is_refused_and_nothing_is_written(
    session: Session,
) -> None:
    position_id = opened(session, ExitPlan(break_even_r=None))  # last close 100.1
    before = session.store.events(position_id)

    with pytest.raises(UserError, match=r"not below the last price 100\.1"):
        session.manager.tighten_stop(position_id, 100.2)

    assert session.store.events(position_id) == before
    assert session.broker.stop_of("PAPER-000001") == 98.0
