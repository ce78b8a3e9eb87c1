"""The order journal: the write-ahead record of every order the gateway creates.

One row per intent id (unique — the last line of defence against creating an order twice). The
gateway writes the row as PENDING *before* it calls the broker, then records what the broker
said. The SQLModel ledger implements this port for real; `InMemoryOrderJournal` is the fake.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, OrderStatus
from tradeloop.errors import OperationalError


class DuplicateIntentError(OperationalError):
    """The journal already holds an order for this intent id (a concurrent or repeated create)."""

    def __init__(self, intent_id: str) -> None:
        super().__init__(
            f"an order for intent {intent_id} is already journalled: it is never created twice"
        )
        self.intent_id = intent_id


class OrderRecord(BaseModel):
    """The journal's row for one intent: what we asked for and what the broker last told us."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: OrderIntent
    broker: str
    mode: str
    status: OrderStatus
    broker_order_id: str | None = None
    filled_quantity: int = 0
    average_price: float | None = None
    message: str = ""
    created_at: datetime
    updated_at: datetime

    @property
    def intent_id(self) -> str:
        return self.intent.id


class Refusal(BaseModel):
    """An intent the risk manager (or the mode guard) refused: nothing was sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent: OrderIntent
    reasons: tuple[str, ...]
    at: datetime


class OrderJournal(Protocol):
    def get(self, intent_id: str) -> OrderRecord | None: ...

    def create_pending(
        self, intent: OrderIntent, broker: str, mode: str, now: datetime
    ) -> OrderRecord:
        """Write a PENDING row; raise `DuplicateIntentError` if the intent id already has one."""
        ...

    def update(self, intent_id: str, order: BrokerOrder, now: datetime) -> OrderRecord:
        """Record the broker's view of the order (status, ids, fills, message)."""
        ...

    def record_refusal(self, refusal: Refusal) -> None: ...

    def orders(self, trading_day: date | None = None) -> list[OrderRecord]:
        """Every journalled order (of one trading day when given), oldest first."""
        ...


_S = OrderStatus
_SETTLED_AT_BROKER = frozenset(
    {_S.OPEN, _S.PART_FILLED, _S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED}
)
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING: _SETTLED_AT_BROKER | {_S.UNKNOWN, _S.NOT_SENT},
    _S.UNKNOWN: _SETTLED_AT_BROKER | {_S.NOT_SENT},
    _S.OPEN: _SETTLED_AT_BROKER - {_S.OPEN},
    _S.PART_FILLED: frozenset({_S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.NOT_SENT: frozenset(),
}
"""The statuses a journalled order may move to (besides staying where it is). The final ones
have none. `merged` keeps the current status when the broker's view would break this table: an
old snapshot never reopens a filled order, an unreadable status never unsettles a known one."""


def merged(record: OrderRecord, order: BrokerOrder, now: datetime) -> OrderRecord:
    """`record` updated with the broker's view, within `ORDER_TRANSITIONS`.

    The message belongs to the status that produced it: when the status changes, the broker's
    message replaces the old one even when empty (an adopted order does not keep the "outcome
    unknown" text of the create that timed out).
    """
    status = order.status
    if status is not record.status and status not in ORDER_TRANSITIONS[record.status]:
        status = record.status
    message = order.message if status is not record.status else order.message or record.message
    return record.model_copy(
        update={
            "status": status,
            "broker_order_id": order.order_id or record.broker_order_id,
            "filled_quantity": max(order.filled_quantity, record.filled_quantity),
            "average_price": order.average_price
            if order.average_price is not None
            else record.average_price,
            "message": message,
            "updated_at": now,
        }
    )


class InMemoryOrderJournal:
    """`OrderJournal` in memory: the fake beside the ledger (lost when the process ends)."""

    def __init__(self) -> None:
        self._records: dict[str, OrderRecord] = {}
        self.refusals: list[Refusal] = []

    def get(self, intent_id: str) -> OrderRecord | None:
        return self._records.get(intent_id)

    def create_pending(
        self, intent: OrderIntent, broker: str, mode: str, now: datetime
    ) -> OrderRecord:
        if intent.id in self._records:
            raise DuplicateIntentError(intent.id)
        record = OrderRecord(
            intent=intent,
            broker=broker,
            mode=mode,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        self._records[intent.id] = record
        return record

    def update(self, intent_id: str, order: BrokerOrder, now: datetime) -> OrderRecord:
        record = merged(self._records[intent_id], order, now)
        self._records[intent_id] = record
        return record

    def record_refusal(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)

    def orders(self, trading_day: date | None = None) -> list[OrderRecord]:
        return [
            record
            for record in self._records.values()
            if trading_day is None or record.intent.trading_day == trading_day
        ]
