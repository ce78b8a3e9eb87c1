"""Fixtures: a loopback Dhan v2 server and a `DhanBroker` (the real dhanhq SDK) pointed at it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from support.dhan_server import TEST_ACCESS_TOKEN, TEST_CLIENT_ID, DhanLoopbackServer, loopback_dhan
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.orders import OrderIntent, Side

SECURITY_ID = "52175"


class ManualClock:
    """A clock that moves only when the rate limiter 'sleeps': tests never wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def dhan_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    with loopback_dhan(monkeypatch) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_broker(dhan_server: DhanLoopbackServer, clock: ManualClock) -> Callable[..., DhanBroker]:
    def build(timeout: float = 10.0, token: str = TEST_ACCESS_TOKEN) -> DhanBroker:
        return DhanBroker(
            TEST_CLIENT_ID,
            SecretStr(token),
            cost_table=CostTable.bundled(),
            base_url=dhan_server.base_url,
            timeout=timeout,
            rate_limiter=InMemoryRateLimiter(clock=clock, sleep=clock.sleep),
        )

    return build


@pytest.fixture
def broker(make_broker: Callable[..., DhanBroker]) -> DhanBroker:
    return make_broker()


@pytest.fixture
def make_intent() -> Callable[..., OrderIntent]:
    """An entry intent for a NIFTY option; keyword arguments override any field."""

    def build(**overrides: Any) -> OrderIntent:
        fields: dict[str, Any] = {
            "strategy_id": "s-breakout",
            "symbol": "NIFTY-24000-CE",
            "security_id": SECURITY_ID,
            "side": Side.BUY,
            "quantity": 130,
            "lot_size": 65,
            "reference_price": 120.0,
            "trading_day": date(2026, 3, 2),
        }
        fields.update(overrides)
        return OrderIntent(**fields)

    return build


@pytest.fixture
def place_order(broker: DhanBroker, make_intent: Callable[..., OrderIntent]) -> Callable[..., str]:
    """Place `make_intent(**overrides)` through the broker; the order id Dhan gave it."""

    def place(**overrides: Any) -> str:
        order = broker.place(make_intent(**overrides))
        assert order.order_id is not None, f"Dhan created no order: {order.message}"
        return order.order_id

    return place


@pytest.fixture
def only_pytest_log_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop root handlers other tests left behind (Prefect's console handler on a closed capture
    stream): at DEBUG they would print "--- Logging error ---" tracebacks, quoting the test's
    source, into the captured output."""
    root = logging.getLogger()
    kept = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    monkeypatch.setattr(root, "handlers", kept)
