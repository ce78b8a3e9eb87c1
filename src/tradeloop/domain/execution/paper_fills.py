"""How the paper broker fills an order: when, at what price and with what charges
(`PaperFillRules`), and the paper broker's configuration (`PaperConfig`).

The rules are the backtester's, expressed on ticks:

* A MARKET order fills on the first tick after it was placed (`market_fill="next_tick"`, the
  default: a decision on a bar's close fills at the next bar's open, as in the backtester), or at
  once at the last known price (`market_fill="last_price"`). It pays slippage against the taker.
* Resting orders fill when the LTP crosses their level. On a *path* tick — the price moved there
  continuously — a limit fills at its limit and a stop at its trigger (plus slippage). On a *gap*
  tick — the first tick of a session, the open of a replayed bar, or the first tick an order
  sees — it fills at the LTP, which is worse than the trigger for a stop and better than the limit
  for a limit (a gap through a target fills at the open).
* A trailing jump moves a super order's stop-loss leg in the trade's favour by whole jumps as
  the best price since entry moves away from the entry fill (Dhan's trailing jump).
* Charges come from the shared cost table; every fill carries its breakdown. Slippage in ticks
  (`slippage_ticks`) uses the order's tick from the contract table (the instrument master).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.execution.contract import symbol_contract
from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.orders import OrderStatus, OrderType, Side
from tradeloop.domain.execution.paper_book import PaperOrder
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.contracts import ContractTable, underlying_of_symbol


class PaperConfig(BaseModel):
    """The paper account's capital and the fill rules' slippage, charges kind and market fill."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capital: float = Field(1_000_000.0, gt=0)
    slippage_bps: float = Field(2.0, ge=0)
    slippage_ticks: int = Field(
        0, ge=0, description="Slippage in ticks of the order's contract (the contract table's)."
    )
    instrument_kind: InstrumentKind = InstrumentKind.FUTURES
    market_fill: Literal["next_tick", "last_price"] = "next_tick"


class PaperFillRules:
    """Decides, for one order and one traded price, whether it fills and at what price."""

    def __init__(self, costs: CostTable, config: PaperConfig, contracts: ContractTable) -> None:
        self._costs = costs
        self.config = config
        self.contracts = contracts

    def evaluate(
        self, order: PaperOrder, ltp: float, ts: datetime, gap: bool
    ) -> tuple[list[PaperOrder], BrokerFill | None]:
        """The order's changes at `ltp` (armed, triggered, trailed or filled) and its fill."""
        sign = order.side.sign
        # The first tick an order sees is a gap for it: it cannot have been resting before.
        at_level = order.armed and not gap
        if order.order_type is OrderType.MARKET:
            return self._fill(order, self._slipped(order, ltp, ts), ts)
        limit_now = order.order_type is OrderType.LIMIT or order.triggered
        if not limit_now:
            assert order.trigger_price is not None
            if sign * (ltp - order.trigger_price) < 0:  # a buy stop triggers at or above
                return self._armed(order, ltp, ts), None
            if order.order_type is OrderType.STOP_LOSS_MARKET:
                price = order.trigger_price if at_level else ltp
                return self._fill(order, self._slipped(order, price, ts), ts)
            triggered = order.model_copy(update={"triggered": True, "updated_at": ts})
            assert triggered.price is not None
            if sign * (triggered.price - ltp) >= 0:
                return self._fill(triggered, triggered.price if at_level else ltp, ts)
            return [triggered.model_copy(update={"armed": True})], None
        assert order.price is not None
        if sign * (order.price - ltp) >= 0:  # buy: ltp at or below the limit; sell: above
            return self._fill(order, order.price if at_level else ltp, ts)
        return self._armed(order, ltp, ts), None

    def _armed(self, order: PaperOrder, ltp: float, ts: datetime) -> list[PaperOrder]:
        updated = order if order.armed else order.model_copy(update={"armed": True})
        trailed = self._trailed_trigger(updated, ltp)
        if trailed is not None:
            updated = updated.model_copy(update={"trigger_price": trailed})
        if updated is order:
            return []
        return [updated.model_copy(update={"updated_at": ts})]

    def _trailed_trigger(self, order: PaperOrder, ltp: float) -> float | None:
        if not order.trailing_jump or order.trail_anchor is None or order.base_trigger is None:
            return None
        assert order.trigger_price is not None
        favour = -order.side.sign  # a SELL stop protects a long: the price rising is favour
        jumps = math.floor(favour * (ltp - order.trail_anchor) / order.trailing_jump)
        if jumps <= 0:
            return None
        candidate = order.base_trigger + favour * jumps * order.trailing_jump
        return candidate if favour * (candidate - order.trigger_price) > 0 else None

    def _fill(
        self, order: PaperOrder, price: float, ts: datetime
    ) -> tuple[list[PaperOrder], BrokerFill]:
        costs = self._costs.order_costs(
            self.config.instrument_kind, order.side is Side.BUY, price, order.quantity
        )
        filled = order.model_copy(
            update={
                "status": OrderStatus.FILLED,
                "filled_quantity": order.quantity,
                "average_price": price,
                "updated_at": ts,
            }
        )
        fill = BrokerFill(
            fill_id=f"{order.order_id}-F1",
            order_id=order.parent_id or order.order_id,
            correlation_id=order.correlation_id,
            leg=order.leg,
            security_id=order.security_id,
            side=order.side,
            quantity=order.quantity,
            price=price,
            ts=ts,
            costs={k: v for k, v in costs.as_dict().items() if k != "total"},
        )
        return [filled], fill

    def _slipped(self, order: PaperOrder, price: float, ts: datetime) -> float:
        adverse = price * self.config.slippage_bps / 10_000
        if self.config.slippage_ticks:
            adverse += self.config.slippage_ticks * self._tick(order, ts)
        return price + order.side.sign * adverse

    def _tick(self, order: PaperOrder, ts: datetime) -> float:
        """The order's tick from the contract table (the listed contract, else its underlying
        and kind on the fill's day); 0 when the table does not know it (never an entry: the
        risk check refuses those), so such a fill pays the bps part only."""
        listed = self.contracts.of_security(order.security_id)
        if listed is not None and listed.underlying == underlying_of_symbol(order.symbol):
            return listed.tick_size
        facts = symbol_contract(order.symbol, to_ist(ts).date(), self.contracts)
        return 0.0 if facts is None else facts.tick_size
