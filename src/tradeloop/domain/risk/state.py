"""Trading state, the kill switch, and the portfolio snapshot the risk manager checks against.

Trading state, per trading day, only ever gets stricter within the day:

* ACTIVE    entries and exits allowed.
* REDUCING  exits only: no new exposure (set by hand, e.g. before an event).
* HALTED    nothing through the ordinary order path. The position manager flattens what is open
            through its kill-switch path (`PositionManager.flatten_all`). Set automatically when
            the day's loss reaches the limit, or by the kill switch.

The kill switch is persisted (in the ledger) and survives restarts and new days until a person
turns it off. While it is on, the effective state is HALTED.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]

    def stricter(self, other: TradingState) -> TradingState:
        """The stricter of two states: a caller can tighten, never loosen."""
        return self if self.strictness >= other.strictness else other


_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class KillSwitch(BaseModel):
    """The persisted kill switch: on until a person turns it off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engaged: bool = False
    reason: str = ""
    changed_at: datetime | None = None


class DayState(BaseModel):
    """The trading state of one trading day and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trading_day: date
    state: TradingState = TradingState.ACTIVE
    reason: str = ""
    changed_at: datetime | None = None


class TradingControlStore(Protocol):
    """Where the kill switch and the per-day trading state live (the ledger, or memory)."""

    def kill_switch(self) -> KillSwitch: ...

    def set_kill_switch(self, engaged: bool, reason: str, now: datetime) -> KillSwitch: ...

    def day_state(self, trading_day: date) -> DayState: ...

    def set_day_state(
        self, trading_day: date, state: TradingState, reason: str, now: datetime
    ) -> DayState:
        """Record a state for the day. Stores never loosen it within the day (see module doc)."""
        ...


class InMemoryTradingControls:
    """`TradingControlStore` in memory: for tests and throwaway sessions."""

    def __init__(self) -> None:
        self._kill_switch = KillSwitch()
        self._days: dict[date, DayState] = {}

    def kill_switch(self) -> KillSwitch:
        return self._kill_switch

    def set_kill_switch(self, engaged: bool, reason: str, now: datetime) -> KillSwitch:
        self._kill_switch = KillSwitch(engaged=engaged, reason=reason, changed_at=now)
        return self._kill_switch

    def day_state(self, trading_day: date) -> DayState:
        return self._days.get(trading_day, DayState(trading_day=trading_day))

    def set_day_state(
        self, trading_day: date, state: TradingState, reason: str, now: datetime
    ) -> DayState:
        current = self.day_state(trading_day)
        if current.state.strictness > state.strictness:
            return current
        self._days[trading_day] = DayState(
            trading_day=trading_day, state=state, reason=reason, changed_at=now
        )
        return self._days[trading_day]


class PositionExposure(BaseModel):
    """One open (or pending) position as the risk manager sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    security_id: str
    position_id: str = Field("", description="The entry intent's id (empty: not known).")
    net_quantity: int = Field(description="Units; positive long, negative short.")
    average_price: float = Field(0.0, ge=0)
    pending: bool = Field(
        False, description="An entry sent but not filled yet: counts against the position limit."
    )


class Portfolio(BaseModel):
    """What is open and how the day is going, at the moment of a check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    positions: tuple[PositionExposure, ...] = ()
    day_pnl: float = Field(0.0, description="Realised + unrealised P&L of the day, net of costs.")
    trading_state: TradingState = TradingState.ACTIVE

    @property
    def open_position_count(self) -> int:
        return sum(1 for p in self.positions if p.net_quantity != 0 or p.pending)

    def open_positions_besides(self, position_id: str) -> int:
        """Open and pending positions other than `position_id` (an entry never counts itself:
        its PENDING position is written before the check)."""
        return sum(
            1
            for p in self.positions
            if (p.net_quantity != 0 or p.pending) and p.position_id != position_id
        )

    def net_quantity(self, security_id: str) -> int:
        return sum(p.net_quantity for p in self.positions if p.security_id == security_id)
