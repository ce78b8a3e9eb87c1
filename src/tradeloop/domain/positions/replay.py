"""Replays bars through the paper broker and the position manager, in the backtester's order.

For each bar: the time rules run at its open (square-off, kill switch: their market exits fill
at this bar's open); the paper broker matches the bar as ticks (open, the worse extreme, the
other, close); fills are applied; at the close the stops are ratcheted (effective from the next
bar); then new entries may be opened (their market orders fill at the next bar's open).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.clock import ManualClock
from tradeloop.domain.execution.orders import OrderIntent
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan, Position


class Bar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    security_id: str
    ts: datetime
    """Bar open time (tz-aware)."""
    open: float = Field(gt=0)
    high: float = Field(gt=0)
    low: float = Field(gt=0)
    close: float = Field(gt=0)
    minutes: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(
                f"bar at {self.ts}: low {self.low} / high {self.high} must contain open "
                f"{self.open} and close {self.close}"
            )
        return self

    @property
    def close_time(self) -> datetime:
        return self.ts + timedelta(minutes=self.minutes)


Decide = Callable[[Bar], Sequence[tuple[OrderIntent, ExitPlan]]]
"""Called after each bar's close: the entries to open now (an empty list for none)."""


class PaperReplay:
    """Feeds bars to a paper session (the position manager over a paper broker)."""

    def __init__(self, manager: PositionManager, broker: PaperBroker, clock: ManualClock) -> None:
        self.manager = manager
        self.broker = broker
        self.clock = clock

    def bar(self, bar: Bar, decide: Decide | None = None) -> list[Position]:
        """Replay one bar; returns the positions opened at its close."""
        self.clock.set(bar.ts)
        self.manager.on_time(bar.ts)
        self.broker.on_bar(bar.security_id, bar.open, bar.high, bar.low, bar.close, bar.ts)
        self.manager.sync()
        self.clock.set(bar.close_time)
        self.manager.on_bar_close(bar.security_id, bar.close)
        if decide is None:
            return []
        return [self.manager.open(intent, plan) for intent, plan in decide(bar)]
