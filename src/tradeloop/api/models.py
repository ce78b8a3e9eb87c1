"""The REST API's response and request bodies: times in IST (with their offset), money in rupees.

These are the API's own shapes, built from the stores' records by the `of` constructors; a
number that is not finite (a NaN metric) is `null`, since JSON has no NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.execution.orders import OrderStatus
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.positions.model import PositionState

if TYPE_CHECKING:
    from tradeloop.domain.execution.journal import OrderRecord, Refusal
    from tradeloop.domain.positions.model import Position, TradeRecord

_POSITION_STATES = ", ".join(PositionState)
_ORDER_STATUSES = ", ".join(OrderStatus)
_EXIT_REASONS = ", ".join(reason.value for reason in ExitReason)
_PRICE = "Rupees (the instrument's price)"


def ist(moment: datetime | None) -> datetime | None:
    """`moment` in IST (None stays None)."""
    return None if moment is None else to_ist(moment)


def finite(value: float | None) -> float | None:
    """`value`, or None when it is not a finite number."""
    return value if value is not None and math.isfinite(value) else None


def finite_map(values: Mapping[str, float]) -> dict[str, float | None]:
    return {name: finite(value) for name, value in values.items()}


class Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorBody(Out):
    detail: str = Field(description="What is wrong and how to fix it.")


# -- health -------------------------------------------------------------------------------------


class Check(Out):
    ok: bool | None = Field(description="True: works; False: broken; None: not configured.")
    detail: str


class LiveSwitch(Out):
    variable: str
    ok: bool
    state: str = Field(description="'set', 'missing' or a non-secret description; never a value.")


class KillSwitchState(Out):
    engaged: bool
    reason: str
    changed_at: datetime | None = Field(description="IST.")


class Health(Out):
    ok: bool = Field(description="True when the candle store and the ledger both answer.")
    candles: Check
    series: int | None = Field(description="Candle series stored (None when unreadable).")
    ledger: Check
    prefect: Check
    trading_mode: str = Field(description="The mode in force: paper, or live with every switch.")
    requested_mode: str
    live_switches: list[LiveSwitch]
    kill_switch: KillSwitchState | None = Field(description="None when the ledger is down.")
    feed: None = Field(description="Always null: no market feed runs inside the API process.")
    feed_note: str


# -- the ledger ---------------------------------------------------------------------------------


class PositionOut(Out):
    position_id: str
    strategy_id: str = Field(description="The deployed strategy's spec id.")
    symbol: str = Field(description="The instrument traded.")
    trading_day: date = Field(description="IST trading day.")
    side: str = Field(description="long or short.")
    quantity: int = Field(description="Units wanted.")
    filled_quantity: int = Field(description="Units the entry filled so far.")
    state: str = Field(description=f"One of {_POSITION_STATES}.")
    entry_price: float | None = Field(description=f"{_PRICE}; null before the entry fills.")
    stop: float | None = Field(description=f"{_PRICE}: the current stop.")
    target: float | None = Field(description=f"{_PRICE}: the take-profit, if any.")
    exit_price: float | None = Field(description=f"{_PRICE}; null while open.")
    exit_reason: str | None = Field(description=f"One of {_EXIT_REASONS}; null while open.")
    opened_at: datetime | None = Field(description="IST.")
    closed_at: datetime | None = Field(description="IST.")
    message: str

    @classmethod
    def of(cls, p: Position) -> PositionOut:
        return cls(
            position_id=p.position_id,
            strategy_id=p.strategy_id,
            symbol=p.symbol,
            trading_day=p.trading_day,
            side="long" if p.direction > 0 else "short",
            quantity=p.quantity,
            filled_quantity=p.filled_quantity,
            state=p.state.value,
            entry_price=finite(p.entry_price),
            stop=finite(p.stop),
            target=finite(p.target),
            exit_price=finite(p.exit_price),
            exit_reason=p.exit_reason.value if p.exit_reason else None,
            opened_at=ist(p.opened_at),
            closed_at=ist(p.closed_at),
            message=p.message,
        )


class OrderOut(Out):
    intent_id: str = Field(description="The order intent's id: the order journal's key.")
    strategy_id: str = Field(description="The deployed strategy's spec id.")
    symbol: str = Field(description="The instrument ordered.")
    trading_day: date = Field(description="IST trading day.")
    side: str = Field(description="BUY or SELL.")
    quantity: int
    order_type: str
    is_exit: bool = Field(description="True for an order that closes a position.")
    status: str = Field(description=f"One of {_ORDER_STATUSES}.")
    filled_quantity: int
    average_price: float | None = Field(description=f"{_PRICE}: the fills' average; null unfilled.")
    broker_order_id: str | None = Field(description="The broker's id; null before it has one.")
    message: str
    created_at: datetime = Field(description="IST.")

    @classmethod
    def of(cls, r: OrderRecord) -> OrderOut:
        return cls(
            intent_id=r.intent_id,
            strategy_id=r.intent.strategy_id,
            symbol=r.intent.symbol,
            trading_day=r.intent.trading_day,
            side=r.intent.side.value,
            quantity=r.intent.quantity,
            order_type=r.intent.order_type.value,
            is_exit=r.intent.is_exit,
            status=r.status.value,
            filled_quantity=r.filled_quantity,
            average_price=finite(r.average_price),
            broker_order_id=r.broker_order_id,
            message=r.message,
            created_at=to_ist(r.created_at),
        )


class RefusalOut(Out):
    intent_id: str
    strategy_id: str
    symbol: str
    side: str
    quantity: int
    reasons: list[str]
    at: datetime = Field(description="IST.")

    @classmethod
    def of(cls, r: Refusal) -> RefusalOut:
        return cls(
            intent_id=r.intent.id,
            strategy_id=r.intent.strategy_id,
            symbol=r.intent.symbol,
            side=r.intent.side.value,
            quantity=r.intent.quantity,
            reasons=list(r.reasons),
            at=to_ist(r.at),
        )


class OrdersOut(Out):
    trading_day: date
    orders: list[OrderOut]
    refused: list[RefusalOut] = Field(description="Intents the risk manager refused: not sent.")


class TradeOut(Out):
    position_id: str
    strategy_id: str = Field(description="The deployed strategy's spec id.")
    symbol: str = Field(description="The instrument traded.")
    trading_day: date = Field(description="IST trading day.")
    side: str = Field(description="long or short.")
    quantity: int
    entry_time: datetime = Field(description="IST.")
    entry_price: float = Field(description=_PRICE)
    exit_time: datetime = Field(description="IST.")
    exit_price: float = Field(description=_PRICE)
    exit_reason: str = Field(description=f"One of {_EXIT_REASONS}.")
    gross_pnl: float | None = Field(description="Rupees.")
    costs: float | None = Field(description="Rupees.")
    net_pnl: float | None = Field(description="Rupees.")
    r_multiple: float | None = Field(
        description="Net P&L over the initial risk (|entry - initial stop| x quantity); 0 without "
        "a stop."
    )

    @classmethod
    def of(cls, t: TradeRecord) -> TradeOut:
        return cls(
            position_id=t.position_id,
            strategy_id=t.strategy_id,
            symbol=t.symbol,
            trading_day=t.trading_day,
            side="long" if t.direction > 0 else "short",
            quantity=t.quantity,
            entry_time=to_ist(t.entry_time),
            entry_price=t.entry_price,
            exit_time=to_ist(t.exit_time),
            exit_price=t.exit_price,
            exit_reason=t.exit_reason.value,
            gross_pnl=finite(t.gross_pnl),
            costs=finite(t.costs),
            net_pnl=finite(t.net_pnl),
            r_multiple=finite(t.r_multiple),
        )


class TradesOut(Out):
    start: date | None = Field(description="First trading day included (IST), if bounded.")
    end: date | None = Field(description="Last trading day included (IST), if bounded.")
    trades: list[TradeOut]
    net_pnl: float = Field(description="Rupees, over the trades listed.")
    costs: float = Field(description="Rupees, over the trades listed.")


class DailyPnlOut(Out):
    trading_day: date
    trades: int
    gross_pnl: float = Field(description="Rupees.")
    costs: float = Field(description="Rupees.")
    net_pnl: float = Field(description="Rupees.")


class KillSwitchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engaged: bool = Field(description="True turns it on (no new orders), False off.")
    reason: str = Field(min_length=1, description="Why: kept in the ledger's history.")
