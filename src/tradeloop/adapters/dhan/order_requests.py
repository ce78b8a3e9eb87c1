"""Turn an `OrderIntent` into the exact dhanhq SDK call: a super order or a plain order.

An entry with both `stop_loss` and `target` becomes a Dhan *super order*: entry, target and stop
(with an optional trailing jump) in one request. Dhan links the target and the stop, so when
one fills the other is cancelled, and both live at the broker even if tradeloop stops. An exit,
or an entry with neither level, is a plain order. An entry with a stop and no target is refused
(`OrderNotSendable`): Dhan's super order needs a target, and a plain entry would go out with no
stop at all (the risk manager refuses such an entry first when the broker is Dhan).

Market entries with a stop and a target are sent as a LIMIT super order at the intent's
`reference_price` (the price it was sized at). Dhan's super order takes only LIMIT or MARKET, the
SDK refuses a price of 0, what Dhan does with a price on a MARKET super order is undocumented,
and since March 2026 API market orders are turned into limit orders with "market price
protection" anyway. The alternative, a plain MARKET entry plus separate stop and target orders,
is worse: the two exits would not be linked (a filled target leaves the stop live, which can
open a reverse position), and a crash between the three calls leaves a position unprotected.
The cost of the limit: if the price runs away before the order arrives the entry may not fill,
and the position manager cancels the stale entry. The stop never chases the market.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradeloop.domain.execution.orders import OrderIntent, OrderType, Side

VALIDITY = "DAY"


class OrderNotSendable(ValueError):
    """The intent cannot be expressed as a Dhan order; nothing was sent."""


@dataclass(frozen=True, slots=True)
class PlainOrderRequest:
    correlation_id: str
    security_id: str
    exchange_segment: str
    transaction_type: str
    quantity: int
    order_type: str
    product_type: str
    price: float
    trigger_price: float

    def sdk_arguments(self) -> dict[str, Any]:
        """Keyword arguments of `dhanhq.Order.place_order`."""
        return {
            "security_id": self.security_id,
            "exchange_segment": self.exchange_segment,
            "transaction_type": self.transaction_type,
            "quantity": self.quantity,
            "order_type": self.order_type,
            "product_type": self.product_type,
            "price": self.price,
            "trigger_price": self.trigger_price,
            "validity": VALIDITY,
            "tag": self.correlation_id,
        }

    def describe(self) -> str:
        trigger = f" trigger {self.trigger_price:g}" if self.trigger_price else ""
        price = f" @ {self.price:g}" if self.price else ""
        return (
            f"plain {self.order_type} {self.transaction_type} {self.quantity} "
            f"{self.exchange_segment}/{self.security_id}{price}{trigger}"
        )


@dataclass(frozen=True, slots=True)
class SuperOrderRequest:
    correlation_id: str
    security_id: str
    exchange_segment: str
    transaction_type: str
    quantity: int
    product_type: str
    price: float
    target_price: float
    stop_loss_price: float
    trailing_jump: float
    order_type: str = OrderType.LIMIT.value

    def sdk_arguments(self) -> dict[str, Any]:
        """Keyword arguments of `dhanhq.SuperOrder.place_super_order`."""
        return {
            "security_id": self.security_id,
            "exchange_segment": self.exchange_segment,
            "transaction_type": self.transaction_type,
            "quantity": self.quantity,
            "order_type": self.order_type,
            "product_type": self.product_type,
            "price": self.price,
            "targetPrice": self.target_price,
            "stopLossPrice": self.stop_loss_price,
            "trailingJump": self.trailing_jump,
            "tag": self.correlation_id,
        }

    def describe(self) -> str:
        return (
            f"super {self.order_type} {self.transaction_type} {self.quantity} "
            f"{self.exchange_segment}/{self.security_id} @ {self.price:g} "
            f"target {self.target_price:g} stop {self.stop_loss_price:g} "
            f"trailing jump {self.trailing_jump:g}"
        )


OrderRequest = PlainOrderRequest | SuperOrderRequest


def plan_order(intent: OrderIntent, quantity: int | None = None) -> OrderRequest:
    """The Dhan request for `intent` (with `quantity` units instead of the intent's, if given).

    Raises `OrderNotSendable` naming the fields when Dhan could not accept it.
    """
    units = intent.quantity if quantity is None else quantity
    if units <= 0:
        raise OrderNotSendable(f"quantity must be positive, got {units}")
    if intent.stop_loss is not None and intent.target is not None and not intent.is_exit:
        return _super_order(intent, units)
    if intent.stop_loss is not None and not intent.is_exit:
        raise OrderNotSendable(
            f"intent {intent.id} has a stop_loss but no target: Dhan's super order needs a "
            "target, and a plain entry would carry no stop; give the strategy a take_profit"
        )
    return _plain_order(intent, units)


def _super_order(intent: OrderIntent, units: int) -> SuperOrderRequest:
    assert intent.stop_loss is not None and intent.target is not None
    if intent.order_type is OrderType.LIMIT:
        assert intent.price is not None  # OrderIntent refuses a LIMIT without a price
        price = intent.price
    elif intent.order_type is OrderType.MARKET:
        if intent.reference_price is None:
            raise OrderNotSendable(
                "a MARKET entry with stop_loss and target goes to Dhan as a LIMIT super order at "
                "reference_price, and this intent has no reference_price: set it to the price "
                "the order was sized at"
            )
        price = intent.reference_price
    else:
        raise OrderNotSendable(
            f"a super order (stop_loss and target set) takes order_type MARKET or LIMIT, not "
            f"{intent.order_type.value}: drop the target to send a plain stop order"
        )
    price, stop, target = _price(price), _price(intent.stop_loss), _price(intent.target)
    _check_legs(intent.side, price, stop, target)
    return SuperOrderRequest(
        correlation_id=intent.id,
        security_id=intent.security_id,
        exchange_segment=intent.exchange_segment.value,
        transaction_type=intent.side.value,
        quantity=units,
        product_type=intent.product.value,
        price=price,
        target_price=target,
        stop_loss_price=stop,
        trailing_jump=_price(intent.trailing_jump or 0.0),
    )


def _check_legs(side: Side, price: float, stop: float, target: float) -> None:
    if side is Side.BUY and not stop < price < target:
        raise OrderNotSendable(
            f"a BUY super order needs stop_loss < entry price < target; got stop_loss={stop:g}, "
            f"entry price={price:g}, target={target:g}"
        )
    if side is Side.SELL and not target < price < stop:
        raise OrderNotSendable(
            f"a SELL super order needs target < entry price < stop_loss; got target={target:g}, "
            f"entry price={price:g}, stop_loss={stop:g}"
        )


def _plain_order(intent: OrderIntent, units: int) -> PlainOrderRequest:
    price = 0.0
    trigger = 0.0
    if intent.order_type in (OrderType.LIMIT, OrderType.STOP_LOSS):
        assert intent.price is not None  # OrderIntent refuses these without a price
        price = _price(intent.price)
    if intent.order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET):
        assert intent.trigger_price is not None  # OrderIntent refuses these without a trigger
        trigger = _price(intent.trigger_price)
    return PlainOrderRequest(
        correlation_id=intent.id,
        security_id=intent.security_id,
        exchange_segment=intent.exchange_segment.value,
        transaction_type=intent.side.value,
        quantity=units,
        order_type=intent.order_type.value,
        product_type=intent.product.value,
        price=price,
        trigger_price=trigger,
    )


def _price(value: float) -> float:
    # Prices arrive on the tick grid; rounding only removes float noise (24000.050000000003).
    return round(value, 2)
