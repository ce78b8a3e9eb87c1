"""Paper or live: the guard in front of every path that could send an order to a real broker.

Paper is the default. Live trading needs *all* of these switches; with any one missing, every
path that would send an order to Dhan refuses with a `TradingRefusedError` that names what is
missing:

1. `TRADELOOP_TRADING_MODE=live`
2. the Dhan credentials: `TRADELOOP_DHAN_CLIENT_ID` and `TRADELOOP_DHAN_ACCESS_TOKEN`
3. `TRADELOOP_LIVE_CONFIRM=yes-i-accept-real-losses`

The report never shows a secret: a switch is only ever "set" or "missing".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from tradeloop.errors import TradingRefusedError
from tradeloop.settings import ENV_PREFIX, LIVE_CONFIRM_PHRASE, Settings

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


def live_mode_report(settings: Settings) -> ModeReport:
    """Check the live switches in `settings` (reads no secret beyond "is it set")."""
    token = settings.dhan_access_token
    token_set = token is not None and bool(token.get_secret_value().strip())
    client_set = bool((settings.dhan_client_id or "").strip())
    confirm = settings.live_confirm
    if confirm == LIVE_CONFIRM_PHRASE:
        confirm_state = "set"
    elif confirm:
        confirm_state = "set to a different value"
    else:
        confirm_state = "missing"
    switches = (
        Switch(
            variable=f"{ENV_PREFIX}TRADING_MODE",
            ok=settings.trading_mode == "live",
            state=settings.trading_mode,
            fix="set it to 'live'",
        ),
        Switch(
            variable=f"{ENV_PREFIX}DHAN_CLIENT_ID",
            ok=client_set,
            state="set" if client_set else "missing",
            fix="set it to your Dhan client id",
        ),
        Switch(
            variable=f"{ENV_PREFIX}DHAN_ACCESS_TOKEN",
            ok=token_set,
            state="set" if token_set else "missing",
            fix="set it to a Dhan access token",
        ),
        Switch(
            variable=f"{ENV_PREFIX}LIVE_CONFIRM",
            ok=confirm_state == "set",
            state=confirm_state,
            fix=f"set it to exactly '{LIVE_CONFIRM_PHRASE}'",
        ),
    )
    return ModeReport(requested=TradingMode(settings.trading_mode), switches=switches)


class NamedBroker(Protocol):
    name: str


class ModeGuard:
    """Refuses to send anything to a non-paper broker unless every live switch is on."""

    def __init__(self, report: ModeReport) -> None:
        self.report = report

    @classmethod
    def from_settings(cls, settings: Settings) -> ModeGuard:
        return cls(live_mode_report(settings))

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
