"""Pure helpers for closing positions: the exit intent, fill averaging, the trade record."""

from __future__ import annotations

from datetime import datetime

from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.orders import OrderIntent, OrderType
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.positions.model import Position, TradeRecord


def exit_intent(
    position: Position, reason: ExitReason, now: datetime, attempt: int = 0
) -> OrderIntent:
    """The market order that closes what `position` holds.

    Its id depends on the position, the reason, the day and `attempt` only — no price — and it is
    written to the ledger (in the CLOSING event) before it is sent, so a restart re-sends the same
    intent and the gateway finds the order it already made.
    """
    entry = position.entry_intent
    quantity = position.open_quantity or position.quantity
    return OrderIntent(
        strategy_id=entry.strategy_id,
        symbol=entry.symbol,
        security_id=entry.security_id,
        exchange_segment=entry.exchange_segment,
        side=entry.side.opposite,
        quantity=quantity,
        lot_size=entry.lot_size if quantity % entry.lot_size == 0 else 1,
        order_type=OrderType.MARKET,
        product=entry.product,
        reason=f"{reason.value} of {position.position_id}",
        trading_day=to_ist(now).date(),
        sequence=attempt,
        is_exit=True,
    )


def weighted_price(average: float | None, quantity: int, fill: BrokerFill) -> float:
    """The average price after adding `fill` to `quantity` units bought at `average`."""
    if average is None or quantity == 0:
        return fill.price
    return (average * quantity + fill.price * fill.quantity) / (quantity + fill.quantity)


def trade_record(position: Position) -> TradeRecord:
    """The round trip of a position that just closed."""
    assert position.entry_price is not None and position.exit_price is not None
    assert position.exit_reason is not None and position.opened_at and position.closed_at
    quantity = position.filled_quantity
    gross = position.direction * (position.exit_price - position.entry_price) * quantity
    costs = position.entry_costs + position.exit_costs
    risk = position.risk_per_unit * quantity
    return TradeRecord(
        position_id=position.position_id,
        strategy_id=position.strategy_id,
        symbol=position.symbol,
        security_id=position.security_id,
        trading_day=position.trading_day,
        direction=position.direction,
        quantity=quantity,
        entry_time=position.opened_at,
        entry_price=position.entry_price,
        exit_time=position.closed_at,
        exit_price=position.exit_price,
        exit_reason=position.exit_reason,
        gross_pnl=gross,
        costs=costs,
        net_pnl=gross - costs,
        r_multiple=(gross - costs) / risk if risk > 0 else 0.0,
    )
