"""Order intents, broker orders and the `Broker` port that paper and Dhan both implement.

An `OrderIntent` is what the system *wants*; its `id` is a deterministic hash of its content plus
the trading day and a sequence number, and is sent to the broker as the correlation id. The same
intent always has the same id, which is how a retry or a restart finds the order it already made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_LOSS = "STOP_LOSS"
    """Stop-limit: becomes a limit order at `price` once the LTP crosses `trigger_price`."""
    STOP_LOSS_MARKET = "STOP_LOSS_MARKET"


class ProductType(StrEnum):
    INTRADAY = "INTRADAY"
    MARGIN = "MARGIN"


class ExchangeSegment(StrEnum):
    NSE_FNO = "NSE_FNO"
    NSE_EQ = "NSE_EQ"
    IDX_I = "IDX_I"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    """Recorded locally, not yet acknowledged by the broker."""
    OPEN = "OPEN"
    """Accepted by the broker, waiting to fill (Dhan: TRANSIT, PENDING, TRIGGERED)."""
    PART_FILLED = "PART_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"
    """The create call's outcome is unknown: reconcile by correlation id before anything else."""
    NOT_SENT = "NOT_SENT"
    """The broker never had it: it failed before anything left this process ("never sent:"),
    or it never arrived (absent from the broker's book long after the create, or so resolved
    by a person: "not placed:" / "resolved by operator as not placed:"). Final."""

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_unsettled(self) -> bool:
        """PENDING or UNKNOWN: whether the broker has the order is not known yet."""
        return self in (OrderStatus.PENDING, OrderStatus.UNKNOWN)


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.NOT_SENT,
    }
)


class OrderIntent(BaseModel):
    """An order the system wants to place. Frozen; its `id` is the broker correlation id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_id: str = Field(min_length=1)
    symbol: str = Field(min_length=1, description="Trading symbol, e.g. NIFTY-Dec2026-FUT.")
    security_id: str = Field(min_length=1, description="The broker's security id.")
    exchange_segment: ExchangeSegment = ExchangeSegment.NSE_FNO
    side: Side
    quantity: int = Field(gt=0, description="Units, not lots.")
    lot_size: int = Field(
        gt=0, description="The instrument's lot in units (no default: take it from the contract)."
    )
    tick_size: float | None = Field(
        None,
        gt=0,
        description=(
            "The instrument's price tick. None: the risk check takes it from the contract table "
            "(the instrument master: NIFTY, BANKNIFTY derivatives) and refuses an entry whose "
            "tick it cannot know."
        ),
    )
    order_type: OrderType = OrderType.MARKET
    product: ProductType = ProductType.INTRADAY
    price: float | None = Field(None, gt=0, description="Limit price (LIMIT, STOP_LOSS).")
    trigger_price: float | None = Field(None, gt=0)
    stop_loss: float | None = Field(None, gt=0)
    target: float | None = Field(None, gt=0)
    trailing_jump: float | None = Field(None, ge=0)
    reference_price: float | None = Field(
        None, gt=0, description="The price the intent was sized at (LTP at decision time)."
    )
    reason: str = ""
    trading_day: date
    sequence: int = Field(0, ge=0, description="Distinguishes intents that are otherwise equal.")
    is_exit: bool = False

    @model_validator(mode="after")
    def _whole_lots(self) -> OrderIntent:
        if self.quantity % self.lot_size:
            raise ValueError(
                f"quantity {self.quantity} is not a whole number of lots of {self.lot_size}"
            )
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LOSS) and self.price is None:
            raise ValueError(f"{self.order_type} order needs a price")
        if (
            self.order_type in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_MARKET)
            and not self.trigger_price
        ):
            raise ValueError(f"{self.order_type} order needs a trigger_price")
        return self

    @property
    def id(self) -> str:
        """Deterministic id: the same content, day and sequence always give the same id.

        Dhan's correlation id allows up to 25 characters of [A-Za-z0-9_-]; this is 22. An
        unset `tick_size` is left out, so intents journalled before the field existed keep
        their ids.
        """
        content = self.model_dump(
            mode="json", exclude={"tick_size"} if not self.tick_size else None
        )
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return "tl" + hashlib.sha256(canonical.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """The broker's view of one order (for a super order: its entry leg)."""

    order_id: str | None
    correlation_id: str
    status: OrderStatus
    side: Side
    quantity: int
    filled_quantity: int = 0
    average_price: float | None = None
    security_id: str = ""
    message: str = ""
    """Why it was rejected, or what made the outcome unknown. Never contains secrets."""
    updated_at: datetime | None = None

    @classmethod
    def unknown(cls, intent: OrderIntent, message: str) -> BrokerOrder:
        """A create of `intent` whose outcome is not known: reconcile by its correlation id."""
        return cls._without_broker_id(intent, OrderStatus.UNKNOWN, message)

    @classmethod
    def not_sent(cls, intent: OrderIntent, message: str) -> BrokerOrder:
        """A create of `intent` the broker never had: final, and never re-sent."""
        return cls._without_broker_id(intent, OrderStatus.NOT_SENT, message)

    @classmethod
    def _without_broker_id(
        cls, intent: OrderIntent, status: OrderStatus, message: str
    ) -> BrokerOrder:
        return cls(
            order_id=None,
            correlation_id=intent.id,
            status=status,
            side=intent.side,
            quantity=intent.quantity,
            security_id=intent.security_id,
            message=message,
        )


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    security_id: str
    net_quantity: int
    average_price: float
    realized_pnl: float = 0.0
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class Funds:
    available: float
    utilized: float = 0.0


class Broker(Protocol):
    """What the gateway needs from a broker. Implemented by the paper broker and the Dhan adapter.

    `place` must never raise on an ambiguous outcome: it returns a `BrokerOrder` with status
    UNKNOWN, and the caller reconciles with `order_by_correlation_id` before anything else. When
    it is certain nothing left the process it returns status NOT_SENT or raises `NotSentError`
    (errors.py), with the reason; any other exception is taken as an unknown outcome.
    """

    name: str
    protects_without_target: bool
    """Whether an entry with a stop loss and no target gets a resting stop leg from `place`
    (the paper broker); when False (Dhan) the risk manager requires a target on every entry."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        """Create a plain order, or a super order when the intent has a stop loss and target."""
        ...

    def modify_stop(self, order_id: str, trigger_price: float) -> BrokerOrder: ...

    def cancel(self, order_id: str) -> BrokerOrder: ...

    def order_by_correlation_id(self, correlation_id: str) -> BrokerOrder | None:
        """The order created with this correlation id, or None if the broker has none."""
        ...

    def orders(self) -> list[BrokerOrder]: ...

    def positions(self) -> list[BrokerPosition]: ...

    def funds(self) -> Funds: ...
