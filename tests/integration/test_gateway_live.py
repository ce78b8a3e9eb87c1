"""Live trading needs every switch; without one, nothing reaches Dhan (the loopback server sees
no request at all). With all of them, the gateway places exactly one order at (loopback) Dhan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from support.dhan_server import TEST_ACCESS_TOKEN, DhanLoopbackServer, loopback_dhan
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.app.trading import broker_for, mode_guard, trading_stack
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import OrderGateway, SubmitOutcome
from tradeloop.domain.execution.orders import OrderIntent, OrderType, Side
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.risk.state import Portfolio
from tradeloop.errors import TradingRefusedError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, Settings, load_settings

CLIENT_ID = "1000000003"
DAY = date(2026, 1, 6)


@pytest.fixture
def dhan_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    with loopback_dhan(monkeypatch) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ist_datetime(DAY, time(9, 30)))


def settings_with(server: DhanLoopbackServer, tmp_path: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "data_dir": tmp_path,
        "trading_mode": "live",
        "dhan_client_id": CLIENT_ID,
        "dhan_access_token": SecretStr(TEST_ACCESS_TOKEN),
        "dhan_base_url": server.base_url,
        "live_confirm": LIVE_CONFIRM_PHRASE,
        "risk": {"capital": 5_000_000.0},
    }
    fields.update(overrides)
    return load_settings(**fields)


def option_intent(**overrides: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "strategy_id": "s-breakout",
        "symbol": "NIFTY-24000-CE",
        "security_id": "52175",
        "side": Side.BUY,
        "quantity": 65,
        "lot_size": 65,
        "order_type": OrderType.LIMIT,
        "price": 120.0,
        "stop_loss": 110.0,
        "target": 140.0,
        "trading_day": DAY,
    }
    fields.update(overrides)
    return OrderIntent.model_validate(fields)


def direct_dhan_gateway(
    server: DhanLoopbackServer, settings: Settings, clock: ManualClock
) -> OrderGateway:
    """A real DhanBroker built by hand (bypassing the factory), behind the settings' guard."""
    stack = trading_stack(settings.model_copy(update={"trading_mode": "paper"}), clock=clock)
    broker = DhanBroker(
        CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        rate_limiter=InMemoryRateLimiter(),
        base_url=server.base_url,
    )
    return OrderGateway(broker, stack.ledger, stack.risk, mode_guard(settings), clock)


def assert_refused_everywhere(
    server: DhanLoopbackServer, settings: Settings, clock: ManualClock, variable: str
) -> None:
    gateway = direct_dhan_gateway(server, settings, clock)
    with pytest.raises(TradingRefusedError, match=variable):
        gateway.submit(option_intent(), Portfolio())
    with pytest.raises(TradingRefusedError, match=variable):
        gateway.modify_stop("tl-anything", 115.0)
    with pytest.raises(TradingRefusedError, match=variable):
        gateway.cancel("tl-anything")
    assert server.requests == []


def test_live_refused_without_trading_mode_live(
    dhan_server: DhanLoopbackServer, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_with(dhan_server, tmp_path, trading_mode="paper")

    assert isinstance(broker_for(settings), PaperBroker)  # the factory never builds Dhan
    assert_refused_everywhere(dhan_server, settings, clock, "TRADELOOP_TRADING_MODE")


def test_live_refused_without_dhan_credentials(
    dhan_server: DhanLoopbackServer, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_with(dhan_server, tmp_path, dhan_access_token=None)

    with pytest.raises(TradingRefusedError, match="TRADELOOP_DHAN_ACCESS_TOKEN") as caught:
        broker_for(settings)
    assert "1 switch(es) missing" in str(caught.value)
    assert_refused_everywhere(dhan_server, settings, clock, "TRADELOOP_DHAN_ACCESS_TOKEN")


def test_live_refused_without_the_confirmation_phrase(
    dhan_server: DhanLoopbackServer, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_with(dhan_server, tmp_path, live_confirm="yes")

    with pytest.raises(TradingRefusedError, match=LIVE_CONFIRM_PHRASE):
        trading_stack(settings, clock=clock)
    assert_refused_everywhere(dhan_server, settings, clock, "TRADELOOP_LIVE_CONFIRM")


def test_every_switch_on_places_one_order_at_dhan(
    dhan_server: DhanLoopbackServer, tmp_path: Path, clock: ManualClock
) -> None:
    stack = trading_stack(settings_with(dhan_server, tmp_path), clock=clock)
    intent = option_intent()

    first = stack.gateway.submit(intent, Portfolio())
    second = stack.gateway.submit(intent, Portfolio())

    assert isinstance(stack.broker, DhanBroker) and stack.mode.value == "live"
    assert first.outcome is SubmitOutcome.PLACED and first.accepted
    assert second.outcome is SubmitOutcome.EXISTING
    assert len(dhan_server.orders_with_correlation_id(intent.id)) == 1
    record = stack.ledger.get(intent.id)
    assert record is not None and record.mode == "live" and record.broker == "dhan"


def test_a_stop_only_entry_is_refused_live_and_rests_its_stop_in_paper(
    dhan_server: DhanLoopbackServer, tmp_path: Path, clock: ManualClock
) -> None:
    """Dhan can protect an entry only with a stop and a target together (a super order)."""
    live = trading_stack(settings_with(dhan_server, tmp_path), clock=clock)
    intent = option_intent(target=None)

    refused = live.gateway.submit(intent, Portfolio())

    assert refused.outcome is SubmitOutcome.REFUSED
    assert any("take_profit" in reason for reason in refused.reasons), refused.reasons
    assert dhan_server.requests == []

    paper_settings = settings_with(dhan_server, tmp_path / "paper", trading_mode="paper")
    paper = trading_stack(paper_settings, clock=clock)
    placed = paper.gateway.submit(intent, Portfolio())
    assert isinstance(paper.broker, PaperBroker) and placed.outcome is SubmitOutcome.PLACED
    assert placed.order is not None
    legs = paper.broker.leg_orders(placed.order.broker_order_id or "")
    assert [leg.order_type for leg in legs] == [OrderType.STOP_LOSS_MARKET]
