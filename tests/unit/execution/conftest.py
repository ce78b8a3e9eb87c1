"""A paper order path in memory: clock, risk manager, journal, paper broker, gateway."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest

from support.contracts import fixed_contracts
from support.intents import TRADING_DAY, future_entry
from tradeloop.app.trading import live_mode_report
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.journal import InMemoryOrderJournal
from tradeloop.domain.execution.mode import ModeGuard
from tradeloop.domain.execution.orders import OrderIntent
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import InMemoryPaperBook
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import InMemoryTradingControls
from tradeloop.settings import load_settings

DAY = TRADING_DAY
IntentFactory = Callable[..., OrderIntent]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ist_datetime(DAY, time(9, 30)))


@pytest.fixture
def controls() -> InMemoryTradingControls:
    return InMemoryTradingControls()


@pytest.fixture
def risk(controls: InMemoryTradingControls) -> RiskManager:
    return RiskManager(
        RiskLimits(capital=5_000_000.0), NSECalendar.default(), controls, fixed_contracts()
    )


@pytest.fixture
def journal() -> InMemoryOrderJournal:
    return InMemoryOrderJournal()


@pytest.fixture
def book() -> InMemoryPaperBook:
    return InMemoryPaperBook()


@pytest.fixture
def paper(book: InMemoryPaperBook, clock: ManualClock) -> PaperBroker:
    return PaperBroker(
        book, CostTable.bundled(), PaperConfig(slippage_bps=0.0), clock, fixed_contracts()
    )


@pytest.fixture
def paper_guard() -> ModeGuard:
    return ModeGuard(live_mode_report(load_settings()))


@pytest.fixture
def gateway(
    paper: PaperBroker,
    journal: InMemoryOrderJournal,
    risk: RiskManager,
    paper_guard: ModeGuard,
    clock: ManualClock,
) -> OrderGateway:
    return OrderGateway(paper, journal, risk, paper_guard, clock)


@pytest.fixture
def make_intent() -> IntentFactory:
    return future_entry
