"""The agent's trading desk and tool registry, from settings.

The desk runs on `app.trading.trading_stack(settings)`: paper by default, live only when every
live switch is set (the stack's mode guard refuses anything less); the tools trade only the
active deployments of the stack's mode and never promote one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.app.session import WARMUP_SESSIONS, index_contract
from tradeloop.app.trading import TradingStack, trading_stack
from tradeloop.clock import Clock
from tradeloop.domain.deploy import DeploymentStore
from tradeloop.domain.positions.day import Contract
from tradeloop.settings import Settings
from tradeloop.storage.ledger import Ledger
from tradeloop.tools import trading_registry
from tradeloop.tools.trading import TradingDesk

REGIME_SESSIONS = 20
"""Sessions of stored minutes the market snapshot classifies the regime on."""
STALE_AFTER = timedelta(minutes=5)
"""A last stored price older than this, in session time, is flagged stale (no new entries)."""


def trading_desk(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    deployments: DeploymentStore | None = None,
    stack: TradingStack | None = None,
) -> TradingDesk:
    """The trading tools' desk on the configured ledger, deployments and stores
    (`open_trading_desk` opens and closes the ledger and the deployment store for you).
    `stack`: an order path already running (a managed day's), instead of a new one."""

    def contract_for(symbol: str, day: date) -> Contract:
        return index_contract(settings, symbol, day)

    return TradingDesk(
        stack=stack or trading_stack(settings, clock=clock, ledger=ledger),
        deployments=deployments or stores.deployment_store(settings),
        candles=stores.candle_store(settings),
        volatility=stores.volatility_store(settings),
        contract_for=contract_for,
        warmup_sessions=WARMUP_SESSIONS,
        regime_sessions=REGIME_SESSIONS,
        stale_after=STALE_AFTER,
    )


@contextmanager
def open_trading_desk(settings: Settings, *, clock: Clock | None = None) -> Iterator[TradingDesk]:
    """`trading_desk` on its own ledger and deployment store, both closed on exit."""
    ledger = stores.ledger(settings)
    deployments = stores.deployment_store(settings)
    try:
        yield trading_desk(settings, clock=clock, ledger=ledger, deployments=deployments)
    finally:
        deployments.close()
        ledger.close()


def trading_tool_registry(desk: TradingDesk) -> ToolRegistry:
    """The registry of an agent run that may trade: the generic tools and the trading tools
    (never `default_registry`'s research tools' registry)."""
    return trading_registry(desk)
