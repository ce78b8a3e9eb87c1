"""Brings positions up to date with the broker: fills applied, dead entries settled.

With a broker that reports fills (`SupportsFills`: the paper broker) every fill is applied to the
position it belongs to — the entry by its intent id, a stop or target leg by its parent's, an
exit by the exit intent's — together with the fill itself, in one ledger write. A fill is
applied once: the ids already recorded in the ledger are skipped, after a restart too.

An unfilled entry (PENDING or UNKNOWN) follows its journalled order: dead at the broker
(rejected, cancelled, expired), never sent, or settled as not placed → REJECTED, so it stops
counting against the position limit; found at the broker after an unknown outcome → PENDING.
"""

from __future__ import annotations

import contextlib

from tradeloop.clock import Clock
from tradeloop.domain.execution.fills import BrokerFill, FillLeg, SupportsFills
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.orders import OrderStatus
from tradeloop.domain.positions.model import Position, PositionState
from tradeloop.domain.positions.recorder import PositionRecorder
from tradeloop.domain.positions.store import PositionStore
from tradeloop.errors import OrderStateUnknownError

DEAD_ORDER = (
    OrderStatus.REJECTED,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
    OrderStatus.NOT_SENT,
)
"""Orders that will never fill (any more)."""


class FillSync:
    def __init__(
        self,
        gateway: OrderGateway,
        store: PositionStore,
        recorder: PositionRecorder,
        clock: Clock,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.recorder = recorder
        self.clock = clock
        self.applied: set[str] = {fill.fill_id for fill in store.fills()}
        self.unmatched_fills: dict[str, BrokerFill] = {}

    def sync(self, *, refresh_pending: bool = False) -> list[Position]:
        """Apply new fills and settle entries the broker rejected or cancelled.

        Fills that match no active position are kept in `unmatched_fills` (reconcile reports
        them). `refresh_pending` also asks the broker about each unfilled entry.
        """
        changed: list[Position] = []
        for fill in self._new_fills(refresh_pending):
            position = self._position_of(fill)
            if position is None or position.state.is_final:
                self.unmatched_fills[fill.fill_id] = fill
                continue
            changed.append(self._apply_fill(position, fill))
            if self.gateway.journal.get(fill.correlation_id) is not None:
                self._refresh(fill.correlation_id)
        for position in self.store.positions(active_only=True):
            if (
                refresh_pending
                and position.state is PositionState.PENDING
                and position.filled_quantity == 0
                and self.gateway.journal.get(position.position_id)
            ):
                self.gateway.refresh(position.position_id)
            settled = self.settle_entry(position)
            if settled is not position:
                changed.append(settled)
        return changed

    def _refresh(self, intent_id: str) -> None:
        """Bring the journal up to date after a fill. The fill proves the order exists, so a
        lookup that does not show it yet (OrderStateUnknownError) is left to a later pass."""
        with contextlib.suppress(OrderStateUnknownError):
            self.gateway.refresh(intent_id)

    def settle_entry(self, position: Position) -> Position:
        """Move an unfilled PENDING/UNKNOWN entry on to what its journalled order says."""
        if position.state not in (PositionState.PENDING, PositionState.UNKNOWN):
            return position
        record = self.gateway.journal.get(position.position_id)
        if record is None or position.filled_quantity:
            return position
        if record.status in DEAD_ORDER:
            return self.recorder.transition(
                position,
                PositionState.REJECTED,
                "entry_" + record.status.value.lower(),
                self.clock.now(),
                record.message or f"the entry order is {record.status.value}",
            )
        if position.state is PositionState.UNKNOWN and not record.status.is_unsettled:
            return self.recorder.transition(
                position,
                PositionState.PENDING,
                "entry_adopted",
                self.clock.now(),
                f"found at {self.gateway.broker.name}: {record.status.value}",
            )
        return position

    def _new_fills(self, refresh: bool) -> list[BrokerFill]:
        broker = self.gateway.broker
        if not isinstance(broker, SupportsFills):
            return self._fills_from_orders() if refresh else []
        return [
            fill
            for fill in broker.fills()
            if fill.fill_id not in self.applied and fill.fill_id not in self.unmatched_fills
        ]

    def _fills_from_orders(self) -> list[BrokerFill]:
        """For a broker without a fill feed: one fill per new filled quantity of our orders.

        Charges are unknown this way (recorded as none), and a stop or target leg filled at the
        broker is not seen: reconciliation reports it as a quantity drift.
        """
        fills: list[BrokerFill] = []
        for position in self.store.positions(active_only=True):
            orders = [(position.position_id, position.filled_quantity, position.entry_price)]
            if position.exit_intent is not None:
                orders.append(
                    (position.exit_intent.id, position.exit_filled_quantity, position.exit_price)
                )
            for intent_id, known, known_price in orders:
                if self.gateway.journal.get(intent_id) is None:
                    continue
                record = self.gateway.refresh(intent_id)
                new = record.filled_quantity - known
                if new <= 0 or record.average_price is None:
                    continue
                price = (
                    record.average_price * record.filled_quantity - (known_price or 0) * known
                ) / new
                fills.append(
                    BrokerFill(
                        fill_id=f"{intent_id}-cum{record.filled_quantity}",
                        order_id=record.broker_order_id or intent_id,
                        correlation_id=intent_id,
                        security_id=position.security_id,
                        side=record.intent.side,
                        quantity=new,
                        price=price,
                        ts=record.updated_at,
                    )
                )
        return [fill for fill in fills if fill.fill_id not in self.applied]

    def _position_of(self, fill: BrokerFill) -> Position | None:
        position = self.store.position(fill.correlation_id)
        if position is not None:
            return position
        for candidate in self.store.positions(active_only=True):
            if (
                candidate.exit_intent is not None
                and candidate.exit_intent.id == fill.correlation_id
            ):
                return candidate
        return None

    def _apply_fill(self, position: Position, fill: BrokerFill) -> Position:
        is_entry = fill.correlation_id == position.position_id and fill.leg is FillLeg.ENTRY
        if is_entry:
            updated = self.recorder.entry_fill(position, fill)
        else:
            updated = self.recorder.exit_fill(position, fill)
        self.applied.add(fill.fill_id)
        return updated
