"""The stores a request reads, opened from the app's one `Settings` and closed after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from tradeloop.app import stores
from tradeloop.app.trading import live_mode_report
from tradeloop.errors import TradingRefusedError
from tradeloop.settings import ENV_PREFIX, Settings
from tradeloop.storage.deployments import SqlDeploymentStore
from tradeloop.storage.ledger import Ledger


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


def open_ledger(settings: SettingsDep) -> Iterator[Ledger]:
    """The ledger for this request (`DatabaseUnavailableError` → 503 when it is down)."""
    ledger = stores.ledger(settings)
    try:
        yield ledger
    finally:
        ledger.close()


def ledger_to_show(settings: SettingsDep) -> Iterator[Ledger]:
    """The ledger for positions, orders and trades: refused while a requested live is refused,
    as `tradeloop positions` does (paper rows under a live request would mislead)."""
    report = live_mode_report(settings)
    if report.requested != report.mode:
        raise TradingRefusedError(
            f"{report.refusal_message()}. Nothing is shown while live is requested but refused; "
            f"turn on the missing switches, or set {ENV_PREFIX}TRADING_MODE=paper"
        )
    yield from open_ledger(settings)


def open_deployment_store(settings: SettingsDep) -> Iterator[SqlDeploymentStore]:
    store = stores.deployment_store(settings)
    try:
        yield store
    finally:
        store.close()


LedgerDep = Annotated[Ledger, Depends(open_ledger)]
ShownLedgerDep = Annotated[Ledger, Depends(ledger_to_show)]
DeploymentsDep = Annotated[SqlDeploymentStore, Depends(open_deployment_store)]
