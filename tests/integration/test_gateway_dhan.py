"""Idempotency against the real DhanBroker (the dhanhq SDK) and a loopback Dhan v2 server.

The server creates the order but answers after the client timed out: the create's outcome is
UNKNOWN. The gateway reconciles by correlation id and adopts the order — and when that lookup
fails too, the Prefect task retry goes through the same journal and adopts it then. Either way
exactly one order exists at the broker and exactly one create request was sent.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from prefect import flow, task
from pydantic import SecretStr

from support.contracts import sample_contracts
from support.dhan_server import TEST_ACCESS_TOKEN, DhanLoopbackServer, loopback_dhan
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.app.trading import mode_guard
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable
from tradeloop.domain.execution.gateway import GatewayResult, OrderGateway, SubmitOutcome
from tradeloop.domain.execution.orders import (
    BrokerOrder,
    OrderIntent,
    OrderStatus,
    OrderType,
    Side,
)
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import Portfolio
from tradeloop.errors import OrderStateUnknownError, TransientError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings
from tradeloop.storage.ledger import Ledger, open_ledger
from tradeloop.tasks.retry import only_transient

CLIENT_ID = "1000000003"
DAY = date(2026, 1, 6)
CREATE = r"/(super/)?orders"


@pytest.fixture
def dhan_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    with loopback_dhan(monkeypatch) as server:
        yield server


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield opened
    opened.close()


def live_gateway(server: DhanLoopbackServer, ledger: Ledger, timeout: float) -> OrderGateway:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    settings = load_settings(
        trading_mode="live",
        dhan_client_id=CLIENT_ID,
        dhan_access_token=SecretStr(TEST_ACCESS_TOKEN),
        live_confirm=LIVE_CONFIRM_PHRASE,
    )
    broker = DhanBroker(
        CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        rate_limiter=InMemoryRateLimiter(),
        base_url=server.base_url,
        timeout=timeout,
    )
    risk = RiskManager(
        RiskLimits(capital=5_000_000.0), NSECalendar.default(), ledger, sample_contracts()
    )
    return OrderGateway(broker, ledger, risk, mode_guard(settings), clock)


def option_intent() -> OrderIntent:
    return OrderIntent(
        strategy_id="s-breakout",
        symbol="NIFTY-24000-CE",
        security_id="52175",
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        order_type=OrderType.LIMIT,
        price=120.0,
        stop_loss=110.0,
        target=140.0,
        trading_day=DAY,
    )


def test_create_timeout_is_reconciled_and_adopted_with_one_order_at_dhan(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=0.3)
    intent = option_intent()
    release = dhan_server.answer_late("POST", "/super/orders")

    result = gateway.submit(intent, Portfolio())
    release.set()

    assert result.outcome is SubmitOutcome.ADOPTED
    assert result.order is not None and result.order.status is OrderStatus.OPEN
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    assert result.order.broker_order_id == order.order_id
    assert len(dhan_server.requests_to("POST", CREATE)) == 1


def test_create_that_never_reached_dhan_stays_unknown_and_is_not_resent(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=5.0)
    intent = option_intent()
    dhan_server.fail_next("POST", "/super/orders", status=502)

    with pytest.raises(OrderStateUnknownError, match="NOT re-sent"):
        gateway.submit(intent, Portfolio())
    with pytest.raises(OrderStateUnknownError):
        gateway.submit(intent, Portfolio())

    assert dhan_server.orders == {}
    assert len(dhan_server.requests_to("POST", CREATE)) == 1
    record = ledger.get(intent.id)
    assert record is not None and record.status is OrderStatus.UNKNOWN


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_prefect_task_retry_after_a_create_timeout_makes_exactly_one_order(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=0.3)
    intent = option_intent()
    release = dhan_server.answer_late("POST", "/super/orders")
    # The reconcile lookup right after the timeout fails as well: the task fails (transiently)
    # and Prefect retries it; the retry finds the UNKNOWN row in the journal and reconciles.
    dhan_server.fail_next("GET", r"/orders/external/.+", status=503)

    @task(retries=1, retry_delay_seconds=0, retry_condition_fn=only_transient)
    def place(order: OrderIntent) -> GatewayResult:
        return gateway.submit(order, Portfolio())

    @flow
    def trade() -> GatewayResult:
        return place(intent)

    result = trade()  # on the session's throwaway Prefect server (the prefect_harness fixture)
    release.set()

    assert result.outcome is SubmitOutcome.ADOPTED
    assert len(dhan_server.orders_with_correlation_id(intent.id)) == 1
    assert len(dhan_server.requests_to("POST", CREATE)) == 1
    assert len(dhan_server.requests_to("GET", r"/orders/external/.+")) == 2


class ProcessKilled(BaseException):
    """Stands for SIGKILL: nothing after the create runs (not even the gateway's handlers)."""


class DiesAfterCreate(DhanBroker):
    def place(self, intent: OrderIntent) -> BrokerOrder:
        super().place(intent)
        raise ProcessKilled


def test_process_killed_right_after_create_restarts_with_one_order_and_tracks_the_position(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))

    def manager(broker_class: type[DhanBroker]) -> PositionManager:
        ledger = open_ledger(url)  # a fresh process: only the ledger and Dhan remember
        broker = broker_class(
            CLIENT_ID,
            SecretStr(TEST_ACCESS_TOKEN),
            cost_table=CostTable.bundled(),
            rate_limiter=InMemoryRateLimiter(),
            base_url=dhan_server.base_url,
        )
        risk = RiskManager(
            RiskLimits(capital=5_000_000.0), NSECalendar.default(), ledger, sample_contracts()
        )
        guard = mode_guard(
            load_settings(
                trading_mode="live",
                dhan_client_id=CLIENT_ID,
                dhan_access_token=SecretStr(TEST_ACCESS_TOKEN),
                live_confirm=LIVE_CONFIRM_PHRASE,
            )
        )
        gateway = OrderGateway(broker, ledger, risk, guard, clock)
        return PositionManager(
            gateway, ledger, ledger, clock, square_off_time=SQUARE_OFF, default_plan=ExitPlan()
        )

    intent = option_intent()
    with pytest.raises(ProcessKilled):
        manager(DiesAfterCreate).open(intent)

    restarted = manager(DhanBroker)
    report = restarted.start()
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    dhan_server.fill(order.order_id, 120.0)
    restarted.sync(refresh_pending=True)

    assert report.ok
    assert len(dhan_server.requests_to("POST", CREATE)) == 1
    position = restarted.store.position(intent.id)
    assert position is not None and position.state is PositionState.OPEN
    assert (position.filled_quantity, position.entry_price) == (65, 120.0)


# -- issue 11: faults that must end in a final state --------------------------------------------


def test_create_refused_before_sending_is_journalled_never_sent_not_unknown(
    dhan_server: DhanLoopbackServer, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=5.0)
    intent = option_intent()
    # The adapter refuses to send while http.client would print the token to stdout.
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)

    result = gateway.submit(intent, Portfolio())

    assert result.outcome is SubmitOutcome.NOT_SENT
    record = ledger.get(intent.id)
    assert record is not None and record.status is OrderStatus.NOT_SENT
    assert record.message.startswith("never sent: http.client debug printing is on")
    assert dhan_server.requests == []


def test_fifty_units_with_lot_size_one_never_reach_dhan(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=5.0)
    intent = option_intent().model_copy(update={"quantity": 50, "lot_size": 1})

    result = gateway.submit(intent, Portfolio())

    assert result.outcome is SubmitOutcome.REFUSED
    assert any("NIFTY-24000-CE (lot 65, tick 0.05)" in reason for reason in result.reasons)
    assert dhan_server.requests_to("POST", CREATE) == []


def test_adopted_order_drops_the_outcome_unknown_text(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=0.3)
    intent = option_intent()
    release = dhan_server.answer_late("POST", "/super/orders")

    result = gateway.submit(intent, Portfolio())
    release.set()

    assert result.order is not None and result.order.status is OrderStatus.OPEN
    assert "outcome unknown" not in result.order.message
    assert "resend" not in result.order.message


def test_entry_resolved_as_not_placed_rejects_its_position(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=5.0)
    manager = PositionManager(
        gateway, ledger, ledger, gateway.clock, square_off_time=SQUARE_OFF, default_plan=ExitPlan()
    )
    intent = option_intent()
    dhan_server.fail_next("POST", "/super/orders", status=502)
    with pytest.raises(OrderStateUnknownError):
        manager.open(intent)

    gateway.resolve_not_placed(intent.id, "not in Dhan's order book")
    position = manager.settle_entry(intent.id)

    assert position.state is PositionState.REJECTED
    assert manager.portfolio().open_position_count == 0
    assert len(dhan_server.requests_to("POST", CREATE)) == 1


def test_resolve_after_a_restart_adopts_a_closed_super_order_as_filled(
    dhan_server: DhanLoopbackServer, ledger: Ledger
) -> None:
    gateway = live_gateway(dhan_server, ledger, timeout=0.3)
    intent = option_intent()
    release = dhan_server.answer_late("POST", "/super/orders")
    dhan_server.fail_next("GET", r"/orders/external/.+", status=503)
    with pytest.raises(TransientError):
        gateway.submit(intent, Portfolio())  # created at Dhan, but nobody knows: UNKNOWN
    release.set()
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    order.book_shows_super_status = True
    dhan_server.fill(order.order_id, 120.0)
    dhan_server.trigger_stop(order.order_id, 110.0)  # the super order is CLOSED at Dhan

    restarted = live_gateway(dhan_server, ledger, timeout=5.0)  # a new process
    record = restarted.resolve_not_placed(intent.id, "I believe it never went out")

    assert record.status is OrderStatus.FILLED
    assert record.broker_order_id == order.order_id
    assert len(dhan_server.requests_to("POST", CREATE)) == 1
