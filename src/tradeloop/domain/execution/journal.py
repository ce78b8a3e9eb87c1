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


def merged(record: OrderRecord, order: BrokerOrder, now: datetime) -> OrderRecord:
    """`record` updated with the broker's view; a terminal status is never overwritten by a
    stale non-terminal one (an old snapshot must not reopen a filled order)."""
    status = order.status
    if record.status.is_terminal and not status.is_terminal:
        status = record.status
    return record.model_copy(
        update={
            "status": status,
            "broker_order_id": order.order_id or record.broker_order_id,
            "filled_quantity": max(order.filled_quantity, record.filled_quantity),
            "average_price": order.average_price
            if order.average_price is not None
            else record.average_price,
            "message": order.message or record.message,
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
