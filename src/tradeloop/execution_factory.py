"""Wires the order path from settings: broker (paper or Dhan), ledger, risk manager, gateway.

This lives outside `domain/` because it imports the Dhan adapter and the ledger. The live
broker is only built after the mode guard passed: with any live switch missing, no Dhan object
(and no connection) is ever made.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.clock import Clock, SystemClock
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.mode import ModeGuard, TradingMode
from tradeloop.domain.execution.orders import Broker
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import PaperBookStore
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.settings import Settings
from tradeloop.storage.ledger import Ledger


def paper_config(settings: Settings) -> PaperConfig:
    return PaperConfig(capital=settings.risk.capital, slippage_bps=settings.execution.slippage_bps)


def broker_for(
    settings: Settings, book: PaperBookStore | None = None, clock: Clock | None = None
) -> Broker:
    """Paper broker (default) or, when every live switch is on, the Dhan broker.

    `TRADELOOP_TRADING_MODE=live` with a switch missing raises `TradingRefusedError` naming it:
    asking for live and silently getting paper would be worse than stopping.
    """
    guard = ModeGuard.from_settings(settings)
    if guard.report.requested is TradingMode.PAPER:
        return PaperBroker(
            book if book is not None else Ledger.from_settings(settings),
            CostTable.load(settings.execution.costs_table),
            paper_config(settings),
            clock or SystemClock(),
        )
    guard.require_live()
    # Imported here: paper trading never loads the Dhan SDK.
    from tradeloop.adapters.dhan.factory import dhan_broker_from_settings

    return dhan_broker_from_settings(settings)


@dataclass(frozen=True)
class TradingStack:
    """Everything the order path needs, built from one `Settings`."""

    settings: Settings
    ledger: Ledger
    broker: Broker
    risk: RiskManager
    guard: ModeGuard
    gateway: OrderGateway
    positions: PositionManager
    calendar: NSECalendar
    clock: Clock

    @property
    def mode(self) -> TradingMode:
        return self.guard.mode


def trading_stack(
    settings: Settings, *, clock: Clock | None = None, ledger: Ledger | None = None
) -> TradingStack:
    """The ledger, broker, risk manager and gateway for `settings` (guard checked first)."""
    clock = clock or SystemClock()
    ledger = ledger or Ledger.from_settings(settings)
    guard = ModeGuard.from_settings(settings)
    broker = broker_for(settings, book=ledger, clock=clock)
    calendar = NSECalendar.default(settings.market.holidays_file)
    return _assemble(settings, ledger, broker, guard, clock, calendar)


def paper_stack(
    settings: Settings,
    ledger: Ledger,
    clock: Clock,
    *,
    paper: PaperConfig | None = None,
    broker_class: type[PaperBroker] = PaperBroker,
) -> TradingStack:
    """A paper trading stack on `ledger` whatever the mode settings say (replays, tests).

    `broker_class` may name a `PaperBroker` subclass (a variant matching engine).
    """
    guard = ModeGuard.from_settings(settings)
    broker = broker_class(
        ledger,
        CostTable.load(settings.execution.costs_table),
        paper or paper_config(settings),
        clock,
    )
    calendar = NSECalendar.default(settings.market.holidays_file)
    return _assemble(settings, ledger, broker, guard, clock, calendar)


def _assemble(
    settings: Settings,
    ledger: Ledger,
    broker: Broker,
    guard: ModeGuard,
    clock: Clock,
    calendar: NSECalendar,
) -> TradingStack:
    risk = RiskManager(RiskLimits.from_settings(settings.risk), calendar, ledger)
    gateway = OrderGateway(broker, ledger, risk, guard, clock)
    positions = PositionManager(
        gateway,
        ledger,
        ledger,
        clock,
        square_off_time=settings.execution.square_off_time,
        default_plan=ExitPlan(break_even_r=settings.execution.break_even_after_r),
    )
    return TradingStack(settings, ledger, broker, risk, guard, gateway, positions, calendar, clock)
