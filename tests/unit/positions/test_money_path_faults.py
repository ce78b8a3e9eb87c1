"""Faults on the money path in a paper session: limits that hold, stops that get through,
entries that end in a final state, prices on the tick. Faults are injected by subclassing the
real paper broker."""

from __future__ import annotations

import pytest
from session_kit import Session, at, bar, build_session, entry

from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus, OrderType
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.errors import (
    NotSentError,
    OrderStateUnknownError,
    ReconciliationError,
    TransientError,
)

TRAIL = ExitPlan(trail_offset=1.5, break_even_r=None)


def opened(session: Session, plan: ExitPlan = TRAIL) -> str:
    """A long entered at the 09:30 close (100, stop 98) and filled at the 09:31 open (100); the
    09:31 close (99.5) moves no stop."""
    session.replay.bar(bar(9, 30, 99.5, 100.2, 99.4, 100.0), lambda b: [(entry(), plan)])
    session.replay.bar(bar(9, 31, 100.0, 100.4, 99.4, 99.5))
    [position] = session.store.positions()
    assert position.state is PositionState.OPEN
    return position.position_id


# -- 3. max_open_positions counts only the other positions -------------------------------------


def test_third_entry_is_allowed_with_max_open_positions_three(session: Session) -> None:
    session.clock.set(at(9, 31))

    positions = [session.manager.open(entry(sequence=n)) for n in range(4)]

    assert [p.state for p in positions[:3]] == [PositionState.PENDING] * 3
    assert positions[3].state is PositionState.REJECTED
    assert "3 other positions are open or pending; the limit is 3" in positions[3].message
    assert len(session.broker.orders()) == 3


# -- 4. a stop move the broker never acknowledged is sent again ---------------------------------


class DropsTheFirstStopMove(PaperBroker):
    """The first `modify_stop` dies with the connection, before the paper book changed."""

    dropped = 0

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder:
        if not self.dropped:
            self.dropped += 1
            raise TransientError("connection reset while moving the stop: it has NOT moved")
        return super().modify_stop(order_id, trigger_price)


def test_unacknowledged_stop_move_is_sent_again_on_the_next_bar_close() -> None:
    session = build_session(broker_class=DropsTheFirstStopMove)
    position_id = opened(session)

    session.replay.bar(bar(9, 32, 100.1, 102.6, 100.0, 102.5))  # trails the stop to 101
    owed = session.store.position(position_id)
    assert owed is not None and (owed.stop, owed.broker_stop) == (101.0, 98.0)
    assert session.broker.stop_of("PAPER-000001") == 98.0

    session.replay.bar(bar(9, 33, 102.5, 102.6, 102.2, 102.4))  # no new move: only the resend

    synced = session.store.position(position_id)
    assert synced is not None and (synced.stop, synced.broker_stop) == (101.0, 101.0)
    assert session.broker.stop_of("PAPER-000001") == 101.0
    kinds = [event.kind for event in session.store.events(position_id)]
    assert kinds[-3:] == ["stop_moved", "stop_unacknowledged", "stop_acknowledged"]


# -- 5. an entry resolved as not placed ends REJECTED ------------------------------------------


class LosesTheCreate(PaperBroker):
    """The create never reached the broker and no answer came: the outcome is unknown."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        return BrokerOrder.unknown(intent, "read timed out")


def test_entry_resolved_as_not_placed_is_rejected_and_no_longer_counts_as_open() -> None:
    session = build_session(broker_class=LosesTheCreate, max_open_positions=2)
    session.clock.set(at(9, 31))
    lost = entry()
    with pytest.raises(OrderStateUnknownError):
        session.manager.open(lost)
    assert session.manager.portfolio().open_position_count == 1

    session.gateway.resolve_not_placed(lost.id, "not in the paper book")
    session.manager.sync()

    position = session.store.position(lost.id)
    assert position is not None and position.state is PositionState.REJECTED
    assert "resolved by operator as not placed" in position.message
    assert session.manager.portfolio().open_position_count == 0
    session.broker.__class__ = PaperBroker  # the network is back: the next entry goes out
    assert session.manager.open(entry(sequence=1)).state is PositionState.PENDING


# -- 7. a failure before anything was sent is final, not UNKNOWN --------------------------------


class CannotBuildTheRequest(PaperBroker):
    def place(self, intent: OrderIntent) -> BrokerOrder:
        raise NotSentError("the request could not be built: no exchange segment for 13")


def test_entry_that_failed_before_sending_is_rejected_without_a_manual_resolve() -> None:
    session = build_session(broker_class=CannotBuildTheRequest)
    session.clock.set(at(9, 31))
    intent = entry()

    position = session.manager.open(intent)

    record = session.journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.NOT_SENT
    assert (
        record.message == "never sent: the request could not be built: no exchange segment for 13"
    )
    assert position.state is PositionState.REJECTED and "never sent" in position.message
    assert session.manager.start().ok


# -- 8. prices on the instrument's tick ---------------------------------------------------------


def test_entry_prices_off_the_tick_are_rounded_protectively_before_they_are_sent(
    session: Session,
) -> None:
    session.clock.set(at(9, 31))
    wanted = entry(
        order_type=OrderType.LIMIT,
        price=100.03,
        stop_loss=98.02,
        target=105.04,
        reference_price=None,
    )

    position = session.manager.open(wanted)

    assert position.position_id != wanted.id  # the id of the intent that was sent
    sent = position.entry_intent
    # A long: the limit down (never a worse fill), the stop up and the target down (both
    # toward the entry: never more risk, never more reward than asked).
    assert (sent.price, sent.stop_loss, sent.target) == (100.0, 98.05, 105.0)
    [order] = session.broker.orders()
    legs = {leg.leg.value: leg for leg in session.broker.leg_orders(order.order_id or "")}
    assert (legs["STOP_LOSS"].trigger_price, legs["TARGET"].price) == (98.05, 105.0)
    assert session.manager.open(wanted).position_id == position.position_id  # still idempotent


def test_trailing_stop_is_rounded_to_the_tick_toward_the_position(session: Session) -> None:
    position_id = opened(session, ExitPlan(trail_offset=1.53, break_even_r=None))

    session.replay.bar(bar(9, 32, 100.1, 102.6, 100.0, 102.5))  # trail = 100.97

    position = session.store.position(position_id)
    assert position is not None and (position.stop, position.broker_stop) == (101.0, 101.0)
    assert session.broker.stop_of("PAPER-000001") == 101.0


# -- 9. messages follow the state -------------------------------------------------------------


class AnswerLostAndLookupLags(PaperBroker):
    """The order is created but the answer is lost, and the first lookup does not see it yet."""

    lagging = 1

    def place(self, intent: OrderIntent) -> BrokerOrder:
        super().place(intent)
        return BrokerOrder.unknown(intent, "read timed out")

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        if self.lagging:
            self.lagging -= 1
            return None
        return super().order_by_correlation_id(correlation_id)


def test_position_drops_its_unknown_text_when_it_turns_open() -> None:
    session = build_session(broker_class=AnswerLostAndLookupLags)
    session.clock.set(at(9, 31))
    intent = entry()
    with pytest.raises(OrderStateUnknownError):
        session.manager.open(intent)
    unknown = session.store.position(intent.id)
    assert unknown is not None and "is UNKNOWN" in unknown.message

    session.manager.start(strict=False)  # a restart: the lookup now finds the order
    session.replay.bar(bar(9, 32, 100.0, 100.4, 99.6, 100.1))

    position = session.store.position(intent.id)
    assert position is not None and position.state is PositionState.OPEN
    assert position.message == ""
    record = session.journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.FILLED
    assert "timed out" not in record.message and "UNKNOWN" not in record.message


# -- the way out of CLOSING when the broker keeps refusing the exit -----------------------------


class RefusesExits(PaperBroker):
    refusing = True

    def place(self, intent: OrderIntent) -> BrokerOrder:
        if intent.is_exit and self.refusing:
            return BrokerOrder(
                order_id=None,
                correlation_id=intent.id,
                status=OrderStatus.REJECTED,
                side=intent.side,
                quantity=intent.quantity,
                message="RMS: margin shortfall",
            )
        return super().place(intent)


def test_position_whose_exits_were_refused_three_times_closes_after_retry_exit() -> None:
    session = build_session(broker_class=RefusesExits)
    position_id = opened(session, ExitPlan(break_even_r=None))
    for minute in (15, 16, 17):  # the square-off's exit, then a new one on each pass
        session.clock.set(at(15, minute))
        session.manager.on_time()
    session.clock.set(at(15, 18))
    with pytest.raises(ReconciliationError, match="3 exit orders were refused"):
        session.manager.on_time()
    assert session.store.position(position_id).state is PositionState.CLOSING  # type: ignore[union-attr]

    assert isinstance(session.broker, RefusesExits)
    session.broker.refusing = False  # margin added
    session.manager.allow_exit_retry(position_id, "margin added")
    session.replay.bar(bar(15, 19, 99.8, 99.9, 99.6, 99.7))  # the pass sends, the bar fills it

    position = session.store.position(position_id)
    assert position is not None and position.state is PositionState.CLOSED
    assert position.exit_intent is not None and position.exit_intent.sequence == 3
