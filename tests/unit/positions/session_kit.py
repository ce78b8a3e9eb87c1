"""Test helpers: a paper session in memory (paper broker, gateway, position manager, clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from support.contracts import fixed_contracts
from tradeloop.app.trading import live_mode_report
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.journal import InMemoryOrderJournal
from tradeloop.domain.execution.mode import ModeGuard
from tradeloop.domain.execution.orders import OrderIntent, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import InMemoryPaperBook
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.positions.replay import Bar, PaperReplay
from tradeloop.domain.positions.store import InMemoryPositionStore
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import InMemoryTradingControls
from tradeloop.settings import load_settings

DAY = date(2026, 1, 6)
SECURITY = "13"


@dataclass
class Session:
    clock: ManualClock
    controls: InMemoryTradingControls
    journal: InMemoryOrderJournal
    book: InMemoryPaperBook
    broker: PaperBroker
    gateway: OrderGateway
    store: InMemoryPositionStore
    manager: PositionManager
    replay: PaperReplay


def build_session(
    capital: float = 5_000_000.0,
    slippage_bps: float = 0.0,
    broker_class: type[PaperBroker] = PaperBroker,
    **limits: Any,
) -> Session:
    clock = ManualClock(ist_datetime(DAY, time(9, 15)))
    controls = InMemoryTradingControls()
    journal = InMemoryOrderJournal()
    book = InMemoryPaperBook()
    broker = broker_class(
        book,
        CostTable.bundled(),
        PaperConfig(slippage_bps=slippage_bps),
        clock,
        fixed_contracts(),
    )
    risk = RiskManager(
        RiskLimits(capital=capital, **limits), NSECalendar.default(), controls, fixed_contracts()
    )
    gateway = OrderGateway(
        broker, journal, risk, ModeGuard(live_mode_report(load_settings())), clock
    )
    store = InMemoryPositionStore()
    manager = PositionManager(
        gateway, store, controls, clock, square_off_time=SQUARE_OFF, default_plan=ExitPlan()
    )
    return Session(
        clock,
        controls,
        journal,
        book,
        broker,
        gateway,
        store,
        manager,
        PaperReplay(manager, broker, clock),
    )


def at(hour: int, minute: int) -> datetime:
    return ist_datetime(DAY, time(hour, minute))


def bar(hour: int, minute: int, o: float, h: float, low: float, c: float, minutes: int = 1) -> Bar:
    return Bar(
        security_id=SECURITY, ts=at(hour, minute), open=o, high=h, low=low, close=c, minutes=minutes
    )


def bars_from(start: datetime, ohlc: list[tuple[float, float, float, float]]) -> list[Bar]:
    return [
        Bar(security_id=SECURITY, ts=start + timedelta(minutes=n), open=o, high=h, low=lo, close=c)
        for n, (o, h, lo, c) in enumerate(ohlc)
    ]


def entry(
    side: Side = Side.BUY,
    reference: float = 100.0,
    risk: float = 2.0,
    reward: float = 5.0,
    **overrides: Any,
) -> OrderIntent:
    fields: dict[str, Any] = {
        "strategy_id": "s-test",
        "symbol": "NIFTY-FUT",
        "security_id": SECURITY,
        "side": side,
        "quantity": 65,
        "lot_size": 65,
        "stop_loss": reference - side.sign * risk,
        "target": reference + side.sign * reward,
        "reference_price": reference,
        "trading_day": DAY,
    }
    fields.update(overrides)
    return OrderIntent.model_validate(fields)


EntryFactory = Callable[..., OrderIntent]
