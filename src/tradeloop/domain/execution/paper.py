"""The paper broker: a local matching engine behind the same `Broker` port as Dhan.

It holds the book (orders, fills, each security's last price), places and cancels orders, and
matches the book against the prices it is fed; when an order fills, at what price and with what
charges is paper_fills.py's (the backtester's rules, on ticks).

* A super order (an intent with stop loss and target) is an entry plus a stop-loss leg
  (stop-market) and a target leg (limit), active from the tick after the entry fills, one
  cancelling the other; the stop leg trails by whole jumps (paper_fills.py). An entry with a
  stop loss and no target gets the stop leg alone (`protects_without_target`): a strategy
  that exits by its stop, its trail or the clock trades in paper as it was backtested.
* `on_bar` replays a bar as open (gap) → low, high (high, low when short: whichever is worse
  for the open position, so a bar touching stop and target takes the stop) → close.

Every change is committed to the `PaperBookStore` before the call returns, so a restart resumes
from exactly the book as it was. Like Dhan, the paper broker does not deduplicate correlation
ids: it is the gateway's job never to create an order twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from tradeloop.clock import Clock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.execution.mode import PAPER_BROKER_NAME
from tradeloop.domain.execution.orders import (
    BrokerOrder,
    BrokerPosition,
    Funds,
    OrderIntent,
    OrderStatus,
    OrderType,
)
from tradeloop.domain.execution.paper_book import PaperBookStore, PaperOrder
from tradeloop.domain.execution.paper_fills import PaperConfig, PaperFillRules
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.contracts import ContractTable
from tradeloop.domain.positions.accounting import holdings
from tradeloop.errors import NotFoundError, OperationalError

__all__ = ["PaperBroker", "PaperConfig"]  # PaperConfig is paper_fills.py's, imported from here too

_ACTIVE = (OrderStatus.OPEN, OrderStatus.PART_FILLED)


class PaperBroker:
    """A `Broker` (and `SupportsFills`) that matches orders against the prices it is fed."""

    name = PAPER_BROKER_NAME
    protects_without_target = True

    def __init__(
        self,
        book: PaperBookStore,
        costs: CostTable,
        config: PaperConfig,
        clock: Clock,
        contracts: ContractTable,
    ) -> None:
        self._book = book
        self.config = config
        self._clock = clock
        self.contracts = contracts
        self._rules = PaperFillRules(costs, config, contracts)
        self._orders: dict[str, PaperOrder] = {o.order_id: o for o in book.paper_orders()}
        self._fills: list[BrokerFill] = book.paper_fills()
        self._last: dict[str, tuple[float, datetime]] = {}

    # -- Broker -------------------------------------------------------------------------------

    def place(self, intent: OrderIntent) -> BrokerOrder:
        now = self._clock.now()
        order_id = f"PAPER-{len([o for o in self._orders.values() if o.parent_id is None]) + 1:06d}"
        entry = PaperOrder(
            order_id=order_id,
            correlation_id=intent.id,
            security_id=intent.security_id,
            symbol=intent.symbol,
            side=intent.side,
            quantity=intent.quantity,
            order_type=intent.order_type,
            product=intent.product,
            price=intent.price,
            trigger_price=intent.trigger_price,
            created_at=now,
            updated_at=now,
        )
        changed = [entry]
        if intent.stop_loss is not None and not intent.is_exit:
            common = {
                "correlation_id": intent.id,
                "parent_id": order_id,
                "security_id": intent.security_id,
                "symbol": intent.symbol,
                "side": intent.side.opposite,
                "quantity": intent.quantity,
                "product": intent.product,
                "status": OrderStatus.PENDING,  # active once the entry fills
                "created_at": now,
                "updated_at": now,
            }
            changed.append(
                PaperOrder(
                    order_id=f"{order_id}-SL",
                    leg=FillLeg.STOP_LOSS,
                    order_type=OrderType.STOP_LOSS_MARKET,
                    trigger_price=intent.stop_loss,
                    trailing_jump=intent.trailing_jump or None,
                    **common,
                )
            )
            if intent.target is not None:
                changed.append(
                    PaperOrder(
                        order_id=f"{order_id}-TG",
                        leg=FillLeg.TARGET,
                        order_type=OrderType.LIMIT,
                        price=intent.target,
                        **common,
                    )
                )
        self._commit(changed, [])
        last = self._last.get(intent.security_id)
        if (
            self.config.market_fill == "last_price"
            and intent.order_type is OrderType.MARKET
            and last is not None
        ):
            self._match(intent.security_id, last[0], now, gap=True, only={order_id})
        return self._orders[order_id].as_broker_order()

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder:
        order = self._order(order_id)
        target = self._orders.get(f"{order_id}-SL", order)
        if target.order_type not in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET):
            raise OperationalError(f"paper order {order_id} has no stop to modify")
        if target.status not in (*_ACTIVE, OrderStatus.PENDING):
            raise OperationalError(
                f"paper order {target.order_id} is {target.status}: its stop cannot be modified"
            )
        now = self._clock.now()
        update = {"trigger_price": trigger_price, "base_trigger": trigger_price, "updated_at": now}
        if target.trail_anchor is not None:
            # Trailing jumps count again from here, so a jump never undoes this modification.
            last = self.last_price(target.security_id)
            update["trail_anchor"] = last if last is not None else target.trail_anchor
        self._commit([target.model_copy(update=update)], [])
        return self._orders[order.order_id].as_broker_order()

    def cancel(self, order_id: str) -> BrokerOrder:
        order = self._order(order_id)
        now = self._clock.now()
        family = [order] + [o for o in self._orders.values() if o.parent_id == order_id]
        cancelled = [
            o.model_copy(
                update={"status": OrderStatus.CANCELLED, "updated_at": now, "message": "cancelled"}
            )
            for o in family
            if o.status in (*_ACTIVE, OrderStatus.PENDING)
        ]
        self._commit(cancelled, [])
        return self._orders[order_id].as_broker_order()

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        for order in self._orders.values():
            if order.correlation_id == correlation_id and order.parent_id is None:
                return order.as_broker_order()
        return None

    def orders(self) -> list[BrokerOrder]:
        """Plain orders and super-order entries (legs show through `fills` and `leg_orders`)."""
        return [o.as_broker_order() for o in self._orders.values() if o.parent_id is None]

    def positions(self) -> list[BrokerPosition]:
        symbols = {o.security_id: o.symbol for o in self._orders.values()}
        return [
            BrokerPosition(
                security_id=h.security_id,
                net_quantity=h.net_quantity,
                average_price=h.average_price,
                realized_pnl=h.realized_pnl,
                symbol=symbols.get(h.security_id, ""),
            )
            for h in holdings(self._fills).values()
        ]

    def funds(self) -> Funds:
        book = holdings(self._fills).values()
        utilized = sum(abs(h.net_quantity) * h.average_price for h in book)
        realized = sum(h.realized_pnl - h.costs for h in book)
        return Funds(available=self.config.capital + realized - utilized, utilized=utilized)

    # -- paper extras -------------------------------------------------------------------------

    def fills(self) -> list[BrokerFill]:
        return list(self._fills)

    def leg_orders(self, order_id: str) -> list[PaperOrder]:
        """The stop-loss and target legs of a super order (the stop alone without a target)."""
        return [o for o in self._orders.values() if o.parent_id == order_id]

    def stop_of(self, order_id: str) -> float | None:
        """The stop trigger the book holds for an order (its stop leg for a super order)."""
        order = self._orders.get(f"{order_id}-SL") or self._orders.get(order_id)
        return None if order is None else order.trigger_price

    def last_price(self, security_id: str) -> float | None:
        last = self._last.get(security_id)
        return None if last is None else last[0]

    def on_price(
        self, security_id: str, ltp: float, ts: datetime, *, gap: bool | None = None
    ) -> list[BrokerFill]:
        """Match the book against one traded price. `gap=None`: a gap on a session's first tick."""
        if not (ltp > 0 and math.isfinite(ltp)):
            raise ValueError(f"price {ltp!r} for security {security_id} must be positive")
        previous = self._last.get(security_id)
        if gap is None:
            gap = previous is None or to_ist(previous[1]).date() != to_ist(ts).date()
        self._last[security_id] = (ltp, ts)
        return self._match(security_id, ltp, ts, gap=gap)

    def on_bar(
        self, security_id: str, open_: float, high: float, low: float, close: float, ts: datetime
    ) -> list[BrokerFill]:
        """Replay one bar as ticks: open (a gap), the worse extreme first, the other, close."""
        fills = self.on_price(security_id, open_, ts, gap=True)
        held = holdings(self._fills).get(security_id)
        net = held.net_quantity if held is not None else 0
        path = (high, low) if net < 0 else (low, high)
        for price in (*path, close):
            fills += self.on_price(security_id, price, ts, gap=False)
        return fills

    # -- matching -----------------------------------------------------------------------------

    def _match(
        self,
        security_id: str,
        ltp: float,
        ts: datetime,
        *,
        gap: bool,
        only: set[str] | None = None,
    ) -> list[BrokerFill]:
        new_fills: list[BrokerFill] = []
        candidates = [
            o
            for o in self._orders.values()
            if o.security_id == security_id
            and o.status in _ACTIVE
            and (only is None or o.order_id in only)
        ]
        for order in candidates:
            current = self._orders[order.order_id]
            if current.status not in _ACTIVE:
                continue  # cancelled by a sibling's fill on this very tick
            changed, fill = self._rules.evaluate(current, ltp, ts, gap)
            if fill is not None:
                changed += self._after_fill(current, fill, ts)
                new_fills.append(fill)
            if changed:
                self._commit(changed, [fill] if fill is not None else [])
        return new_fills

    def _after_fill(self, order: PaperOrder, fill: BrokerFill, ts: datetime) -> list[PaperOrder]:
        """Activate a super order's legs after its entry; cancel the sibling after a leg."""
        changed: list[PaperOrder] = []
        if order.parent_id is None:
            for leg in self.leg_orders(order.order_id):
                if leg.status is OrderStatus.PENDING:
                    changed.append(
                        leg.model_copy(
                            update={
                                "status": OrderStatus.OPEN,
                                "armed": True,  # it saw the entry's tick: later ticks are a path
                                "trail_anchor": fill.price,
                                "base_trigger": leg.trigger_price,
                                "updated_at": ts,
                            }
                        )
                    )
        else:
            for sibling in self.leg_orders(order.parent_id):
                if sibling.order_id != order.order_id and sibling.status in _ACTIVE:
                    changed.append(
                        sibling.model_copy(
                            update={
                                "status": OrderStatus.CANCELLED,
                                "message": f"one-cancels-other: {order.leg} filled",
                                "updated_at": ts,
                            }
                        )
                    )
        return changed

    def _commit(self, orders: Iterable[PaperOrder], fills: list[BrokerFill]) -> None:
        orders = list(orders)
        # Written first: if the store fails, memory still matches what is stored.
        self._book.commit_paper(orders, fills)
        for order in orders:
            self._orders[order.order_id] = order
        self._fills.extend(fills)

    def _order(self, order_id: str) -> PaperOrder:
        try:
            return self._orders[order_id]
        except KeyError:
            raise NotFoundError(f"no paper order {order_id}: see `tradeloop orders`") from None
