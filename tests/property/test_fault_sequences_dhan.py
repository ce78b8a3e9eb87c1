"""Acceptance of issue 11 against the loopback Dhan server, through the real dhanhq SDK.

A smaller day than the paper property (tests/property/test_fault_sequences.py), because each
fault costs real HTTP round trips and client timeouts: three entries go out at 09:30, each create
meeting a drawn fault (answered after the client timed out although Dhan created the order, a
500 or 502 before Dhan processed it, an unreadable answer after it did), the process restarted
after any of them; Dhan fills what exists, the position manager squares off at 15:16, Dhan
fills the exits, and the ledger is reconciled after the close. Whatever was drawn, every intent
was placed at Dhan exactly once or ended with a reason, and no position is left non-final.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from support.contracts import sample_contracts
from support.dhan_server import TEST_ACCESS_TOKEN, DhanLoopbackServer, LateAnswer
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.app.trading import mode_guard
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.errors import OrderStateUnknownError, TransientError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings
from tradeloop.storage.ledger import Ledger, open_ledger

CLIENT_ID = "1000000003"
DAY = date(2026, 1, 6)
SECURITY_ID = "52175"
CREATE_FAULTS = ("ok", "late", "error_500", "error_502", "unreadable")
GUARD = mode_guard(
    load_settings(
        trading_mode="live",
        dhan_client_id=CLIENT_ID,
        dhan_access_token=SecretStr(TEST_ACCESS_TOKEN),
        live_confirm=LIVE_CONFIRM_PHRASE,
    )
)


class VirtualTime:
    """The rate limiter's clock: its waits pass at once (the loopback server sets no limits)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def live_process(server: DhanLoopbackServer, ledger: Ledger, clock: ManualClock) -> PositionManager:
    """A fresh process: only the ledger and Dhan remember."""
    limiter_time = VirtualTime()
    broker = DhanBroker(
        CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        rate_limiter=InMemoryRateLimiter(clock=limiter_time, sleep=limiter_time.sleep),
        base_url=server.base_url,
        timeout=0.3,
    )
    risk = RiskManager(
        RiskLimits(capital=5_000_000.0), NSECalendar.default(), ledger, sample_contracts()
    )
    gateway = OrderGateway(broker, ledger, risk, GUARD, clock)
    return PositionManager(
        gateway, ledger, ledger, clock, square_off_time=SQUARE_OFF, default_plan=ExitPlan()
    )


def entry(sequence: int) -> OrderIntent:
    return OrderIntent(
        strategy_id="faults-live",
        symbol="NIFTY-24000-CE",
        security_id=SECURITY_ID,
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        order_type=OrderType.LIMIT,
        price=120.0,
        stop_loss=110.0,
        target=140.0,
        trading_day=DAY,
        sequence=sequence,
    )


def arm(server: DhanLoopbackServer, fault: str) -> LateAnswer | None:
    if fault == "late":
        return server.answer_late("POST", "/super/orders")
    if fault in ("error_500", "error_502"):
        server.fail_next("POST", "/super/orders", status=int(fault[-3:]))
    if fault == "unreadable":
        server.malformed_next("POST", "/super/orders", process=True)
    return None


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    faults=st.lists(st.sampled_from(CREATE_FAULTS), min_size=3, max_size=3),
    restarts=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_live_intents_end_placed_once_or_refused_and_no_position_stays_open(
    faults: list[str], restarts: list[bool]
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    with DhanLoopbackServer(client_id=CLIENT_ID) as server, tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}")
        manager = live_process(server, ledger, clock)
        intents = [entry(n) for n in range(3)]
        for intent, fault, restart in zip(intents, faults, restarts, strict=True):
            late = arm(server, fault)
            with contextlib.suppress(OrderStateUnknownError, TransientError):
                manager.open(intent)  # in doubt: reconciled on the manager's passes
            if late is not None:
                late.release()
            if restart:
                manager = live_process(server, ledger, clock)
                manager.start(strict=False)

        clock.set(ist_datetime(DAY, time(9, 31)))
        for order in list(server.orders.values()):
            server.fill(order.order_id, 120.0, at=clock.now())
        clock.set(ist_datetime(DAY, time(9, 33)))  # past the 2 minutes: what is absent is absent
        manager.on_time()
        manager.sync()
        clock.set(ist_datetime(DAY, time(15, 16)))
        manager.on_time()  # the square-off: legs cancelled, exits sent
        for order in list(server.orders.values()):
            if not order.is_super and order.status == "PENDING":
                server.fill(order.order_id, 121.0, at=clock.now())
        manager.sync()
        clock.set(ist_datetime(DAY, time(15, 35)))
        report = manager.start(strict=False)

        assert report.ok, report.describe()
        for intent in intents:
            placed = server.orders_with_correlation_id(intent.id)
            record = ledger.get(intent.id)
            assert len(placed) <= 1, f"{intent.id} was placed twice"
            if placed:
                assert record is not None and record.broker_order_id == placed[0].order_id
                assert record.status is OrderStatus.FILLED
            else:
                assert record is not None and record.status is OrderStatus.NOT_SENT
                assert record.message
        assert all(position.state.is_final for position in ledger.positions())
        assert all(position.net_quantity == 0 for position in manager.gateway.broker.positions())
        ledger.close()
