"""Executions reported by a broker: what filled, at what price, and what it cost.

`Broker` (orders.py) reports orders; a fill says which leg of which order executed. The paper
broker implements `SupportsFills`; the position manager uses fills to open and close positions
(an exit by a super order's stop or target leg is only visible as a fill).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.execution.orders import Side


class FillLeg(StrEnum):
    ENTRY = "ENTRY"
    """A plain order, or the entry leg of a super order."""
    STOP_LOSS = "STOP_LOSS"
    TARGET = "TARGET"


class BrokerFill(BaseModel):
    """One execution. `correlation_id` is the intent id of the order (of the parent for a leg)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fill_id: str
    order_id: str
    correlation_id: str
    leg: FillLeg = FillLeg.ENTRY
    security_id: str
    side: Side
    quantity: int = Field(gt=0)
    price: float = Field(gt=0)
    ts: datetime
    costs: dict[str, float] = Field(default_factory=dict)
    """Charges by component (brokerage, stt, exchange, sebi, stamp_duty, gst), in rupees."""

    @property
    def cost_total(self) -> float:
        return sum(self.costs.values())

    @property
    def cash_flow(self) -> float:
        """Cash in (+) or out (−) of this fill, after its charges."""
        return -self.side.sign * self.price * self.quantity - self.cost_total


@runtime_checkable
class SupportsFills(Protocol):
    def fills(self) -> list[BrokerFill]:
        """Every fill of the trading session so far, oldest first."""
        ...
