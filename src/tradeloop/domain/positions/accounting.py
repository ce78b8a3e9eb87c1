"""Average-cost accounting over fills: holdings, realised and unrealised P&L, cash.

Two independent views of the same fills must agree (a property test holds them to it):

    cash + Σ net_quantity × mark  ==  initial_cash + realised + unrealised − costs

where cash is the running sum of each fill's cash flow (−side × price × quantity − charges) and
realised/unrealised come from average-cost position keeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.errors import NotFoundError


class Holding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    security_id: str
    net_quantity: int = 0
    average_price: float = 0.0
    realized_pnl: float = 0.0
    """Gross of charges."""
    costs: float = 0.0

    def apply(self, fill: BrokerFill) -> Holding:
        signed = fill.side.sign * fill.quantity
        realized = self.realized_pnl
        net, average = self.net_quantity, self.average_price
        if net == 0 or (net > 0) == (signed > 0):
            average = (average * abs(net) + fill.price * abs(signed)) / (abs(net) + abs(signed))
            net += signed
        else:
            closing = min(abs(net), abs(signed))
            direction = 1 if net > 0 else -1
            realized += direction * (fill.price - average) * closing
            net += signed
            if net == 0:
                average = 0.0
            elif (net > 0) != (direction > 0):
                average = fill.price  # flipped: the remainder opened at this fill's price
        return self.model_copy(
            update={
                "net_quantity": net,
                "average_price": average,
                "realized_pnl": realized,
                "costs": self.costs + fill.cost_total,
            }
        )


class Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_cash: float
    cash: float
    position_value: float
    realized_pnl: float
    unrealized_pnl: float
    costs: float

    @property
    def equity(self) -> float:
        return self.cash + self.position_value

    @property
    def net_pnl(self) -> float:
        return self.realized_pnl + self.unrealized_pnl - self.costs


def holdings(fills: Iterable[BrokerFill]) -> dict[str, Holding]:
    """Average-cost holdings per security, fills applied in the order given."""
    book: dict[str, Holding] = {}
    for fill in fills:
        current = book.get(fill.security_id) or Holding(security_id=fill.security_id)
        book[fill.security_id] = current.apply(fill)
    return book


def account(
    initial_cash: float,
    fills: Iterable[BrokerFill],
    marks: Mapping[str, float],
    cash: float | None = None,
) -> Account:
    """The account after `fills`, marked at `marks` (security id → price).

    `cash` may be given when the caller summed the cash flows itself (the ledger does, in SQL).
    """
    fills = list(fills)
    book = holdings(fills)
    position_value = 0.0
    unrealized = 0.0
    for security_id, holding in book.items():
        if holding.net_quantity == 0:
            continue
        if security_id not in marks:
            raise NotFoundError(
                f"no mark price for security {security_id} ({holding.net_quantity:+d} units "
                "open): pass its last price"
            )
        mark = marks[security_id]
        position_value += holding.net_quantity * mark
        unrealized += holding.net_quantity * (mark - holding.average_price)
    if cash is None:
        cash = initial_cash + sum(fill.cash_flow for fill in fills)
    return Account(
        initial_cash=initial_cash,
        cash=cash,
        position_value=position_value,
        realized_pnl=sum(h.realized_pnl for h in book.values()),
        unrealized_pnl=unrealized,
        costs=sum(h.costs for h in book.values()),
    )
