"""The position state machine: states, allowed transitions, and the records it writes.

::

    PENDING ──► OPEN ──► BREAK_EVEN ◄─► TRAILING ──► CLOSING ──► CLOSED
       │         │            │              │                       ▲
       │         └────────────┴──────────────┴───────────────────────┘
       │                      (the broker's stop or target leg filled)
       ├──► REJECTED   (refused by risk, rejected or cancelled by the broker)
       └──► UNKNOWN    (the entry's outcome is unknown) ──► OPEN / REJECTED / CLOSING

BREAK_EVEN: the stop was last moved to the entry price; TRAILING: it was last moved by the
trailing rule (the state names the rule that set the current stop, and so the exit reason).
Every transition is written to the ledger before the action it triggers.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.execution.orders import OrderIntent
from tradeloop.domain.exits import ExitReason


class PositionState(StrEnum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    BREAK_EVEN = "BREAK_EVEN"
    TRAILING = "TRAILING"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self in (PositionState.CLOSED, PositionState.REJECTED)

    @property
    def holds_units(self) -> bool:
        """States in which units may be held at the broker."""
        return self in _HOLDING


_HOLDING = frozenset(
    {PositionState.OPEN, PositionState.BREAK_EVEN, PositionState.TRAILING, PositionState.CLOSING}
)

TRANSITIONS: dict[PositionState, frozenset[PositionState]] = {
    PositionState.PENDING: frozenset(
        {
            PositionState.PENDING,
            PositionState.OPEN,
            PositionState.REJECTED,
            PositionState.UNKNOWN,
            PositionState.CLOSING,
            PositionState.CLOSED,
        }
    ),
    PositionState.UNKNOWN: frozenset(
        {
            PositionState.UNKNOWN,
            PositionState.PENDING,
            PositionState.OPEN,
            PositionState.REJECTED,
            PositionState.CLOSING,
        }
    ),
    PositionState.OPEN: frozenset(
        {
            PositionState.OPEN,
            PositionState.BREAK_EVEN,
            PositionState.TRAILING,
            PositionState.CLOSING,
            PositionState.CLOSED,
        }
    ),
    PositionState.BREAK_EVEN: frozenset(
        {
            PositionState.BREAK_EVEN,
            PositionState.TRAILING,
            PositionState.CLOSING,
            PositionState.CLOSED,
        }
    ),
    PositionState.TRAILING: frozenset(
        {
            PositionState.TRAILING,
            PositionState.BREAK_EVEN,
            PositionState.CLOSING,
            PositionState.CLOSED,
        }
    ),
    PositionState.CLOSING: frozenset({PositionState.CLOSING, PositionState.CLOSED}),
    PositionState.CLOSED: frozenset(),
    PositionState.REJECTED: frozenset(),
}


class ExitPlan(BaseModel):
    """How the position manager moves the stop (the Signals rules, per position).

    trail = close − direction × (trail_offset + trail_fraction × close), recomputed on each bar
    close, effective from the next bar, never loosened. After a close at or beyond
    entry + direction × break_even_r × R the stop moves to entry + direction × break_even_buffer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    trail_offset: float = Field(0.0, ge=0)
    trail_fraction: float = Field(0.0, ge=0)
    break_even_r: float | None = Field(1.0, gt=0, description="None = never move to entry.")
    break_even_buffer: float = Field(
        0.0, ge=0, description="Price units beyond entry (e.g. the round-trip cost per unit)."
    )

    @property
    def trails(self) -> bool:
        return self.trail_offset > 0 or self.trail_fraction > 0


class Position(BaseModel):
    """One position's full state, as persisted. `version` counts its events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position_id: str
    """The entry intent's id (= the broker correlation id of the entry)."""
    strategy_id: str
    symbol: str
    security_id: str
    trading_day: date
    direction: int = Field(description="+1 long, −1 short.")
    quantity: int = Field(gt=0)
    entry_intent: OrderIntent
    plan: ExitPlan = ExitPlan()
    state: PositionState = PositionState.PENDING
    version: int = 0
    entry_price: float | None = None
    filled_quantity: int = 0
    initial_stop: float | None = None
    """None only for an entry refused for having no stop loss."""
    stop: float | None = None
    """The stop the position manager wants (written before it is sent)."""
    broker_stop: float | None = None
    """The stop the broker last acknowledged; differs from `stop` only mid-modification."""
    target: float | None = None
    exit_intent: OrderIntent | None = None
    exit_reason: ExitReason | None = None
    exit_refusals: int = 0
    """Exit orders the broker refused; one that never reached it (NOT_SENT) does not count."""
    exit_price: float | None = None
    exit_filled_quantity: int = 0
    entry_costs: float = 0.0
    exit_costs: float = 0.0
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime
    message: str = ""

    @property
    def open_quantity(self) -> int:
        return self.filled_quantity - self.exit_filled_quantity

    @property
    def net_quantity(self) -> int:
        return self.direction * self.open_quantity

    @property
    def risk_per_unit(self) -> float:
        """|entry − initial stop| (0 when either is unknown)."""
        reference = self.entry_price or self.entry_intent.reference_price
        if reference is None or self.initial_stop is None:
            return 0.0
        return abs(reference - self.initial_stop)


class PositionEvent(BaseModel):
    """One transition (or stop move) of one position, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position_id: str
    sequence: int = Field(ge=1)
    at: datetime
    kind: str
    from_state: PositionState | None
    to_state: PositionState
    detail: dict[str, str | float | int | None] = Field(default_factory=dict)


class TradeRecord(BaseModel):
    """A closed round trip, with its costs and R multiple."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position_id: str
    strategy_id: str
    symbol: str
    security_id: str
    trading_day: date
    direction: int
    quantity: int
    entry_time: datetime
    entry_price: float
    exit_time: datetime
    exit_price: float
    exit_reason: ExitReason
    gross_pnl: float
    costs: float
    net_pnl: float
    r_multiple: float
    """Net P&L over the initial risk (|entry − initial stop| × quantity)."""
