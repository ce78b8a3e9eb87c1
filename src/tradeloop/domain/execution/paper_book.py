"""The paper broker's order book: its records and the port that persists them.

Every change the paper broker makes (an order placed, a leg triggered, a fill) is committed in
one call, so a paper session killed at any instant restarts with a book that is exactly as it
was after its last completed step. The ledger implements `PaperBookStore`; so does the fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.execution.orders import (
    BrokerOrder,
    OrderStatus,
    OrderType,
    ProductType,
    Side,
)


class PaperOrder(BaseModel):
    """One order in the paper book. A super order is an ENTRY order plus two leg orders."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str
    correlation_id: str
    leg: FillLeg = FillLeg.ENTRY
    parent_id: str | None = None
    security_id: str
    symbol: str = ""
    side: Side
    quantity: int = Field(gt=0)
    order_type: OrderType
    product: ProductType = ProductType.INTRADAY
    price: float | None = None
    trigger_price: float | None = None
    status: OrderStatus = OrderStatus.OPEN
    filled_quantity: int = 0
    average_price: float | None = None
    trailing_jump: float | None = None
    """Dhan-style trailing: the stop moves by this much each time the price does, in favour."""
    trail_anchor: float | None = None
    """The price from which the trailing jump is counted (the entry fill)."""
    base_trigger: float | None = None
    """The stop before any trailing jump (reset by a modification)."""
    armed: bool = False
    """The order has seen a tick without filling: a later crossing is a path, not a gap."""
    triggered: bool = False
    """A STOP_LOSS (stop-limit) whose trigger was crossed: now a resting limit."""
    created_at: datetime
    updated_at: datetime
    message: str = ""

    def as_broker_order(self) -> BrokerOrder:
        return BrokerOrder(
            order_id=self.order_id,
            correlation_id=self.correlation_id,
            status=self.status,
            side=self.side,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            average_price=self.average_price,
            security_id=self.security_id,
            message=self.message,
            updated_at=self.updated_at,
        )


class PaperBookStore(Protocol):
    def paper_orders(self) -> list[PaperOrder]: ...

    def paper_fills(self) -> list[BrokerFill]: ...

    def commit_paper(self, orders: Sequence[PaperOrder], fills: Sequence[BrokerFill]) -> None:
        """Upsert `orders` and append `fills`, atomically."""
        ...


class InMemoryPaperBook:
    """`PaperBookStore` in memory."""

    def __init__(self) -> None:
        self._orders: dict[str, PaperOrder] = {}
        self._fills: list[BrokerFill] = []

    def paper_orders(self) -> list[PaperOrder]:
        return list(self._orders.values())

    def paper_fills(self) -> list[BrokerFill]:
        return list(self._fills)

    def commit_paper(self, orders: Sequence[PaperOrder], fills: Sequence[BrokerFill]) -> None:
        for order in orders:
            self._orders[order.order_id] = order
        self._fills.extend(fills)
