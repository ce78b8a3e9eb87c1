"""Paper or live: the guard in front of every path that could send an order to a real broker.

Paper is the default. Live trading needs *all* of these switches; with any one missing, every
path that would send an order to Dhan refuses with a `TradingRefusedError` that names what is
missing:

1. `TRADELOOP_TRADING_MODE=live`
2. the Dhan credentials: `TRADELOOP_DHAN_CLIENT_ID` and `TRADELOOP_DHAN_ACCESS_TOKEN`
3. `TRADELOOP_LIVE_CONFIRM=yes-i-accept-real-losses`

The report never shows a secret: a switch is only ever "set" or "missing". The composition root
reads the switches from the settings (`tradeloop.app.trading.live_mode_report`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from tradeloop.errors import TradingRefusedError

PAPER_BROKER_NAME = "paper"


class TradingMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class Switch(BaseModel):
    """One live-trading switch: its variable, whether it is on, and how to turn it on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variable: str
    ok: bool
    state: str
    """"set", "missing", or a short non-secret description (e.g. "paper")."""
    fix: str


class ModeReport(BaseModel):
    """The requested mode and the state of each live switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requested: TradingMode
    switches: tuple[Switch, ...]

    @property
    def live_allowed(self) -> bool:
        return all(switch.ok for switch in self.switches)

    @property
    def mode(self) -> TradingMode:
        """The mode in force: live only when every switch is on."""
        return TradingMode.LIVE if self.live_allowed else TradingMode.PAPER

    @property
    def missing(self) -> tuple[Switch, ...]:
        return tuple(switch for switch in self.switches if not switch.ok)

    def refusal_message(self) -> str:
        fixes = "; ".join(f"{switch.variable}: {switch.fix}" for switch in self.missing)
        return f"live trading refused, {len(self.missing)} switch(es) missing — {fixes}"


class NamedBroker(Protocol):
    name: str


class ModeGuard:
    """Refuses to send anything to a non-paper broker unless every live switch is on."""

    def __init__(self, report: ModeReport) -> None:
        self.report = report

    @property
    def mode(self) -> TradingMode:
        return self.report.mode

    def require_live(self) -> None:
        """Raise `TradingRefusedError` naming the missing switches unless live is allowed."""
        if not self.report.live_allowed:
            raise TradingRefusedError(self.report.refusal_message())

    def require_can_send(self, broker: NamedBroker) -> None:
        """Any broker but the paper one is a live broker and needs every switch."""
        if broker.name != PAPER_BROKER_NAME:
            self.require_live()
