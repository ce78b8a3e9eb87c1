"""Live fills end to end: a super order's leg fills at Dhan and the position manager closes it.

The real `DhanBroker` (the dhanhq SDK) talks to the loopback Dhan server; the position manager
runs on the SQLite ledger. Nothing but the trade book tells the manager that the stop or target
leg filled: `sync()` reads `fills()` and writes the close, the trade and both fills.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from support.contracts import sample_contracts
from support.dhan_server import TEST_ACCESS_TOKEN, DhanLoopbackServer, Instrument, loopback_dhan
from tradeloop.adapters.dhan import DhanBroker
from tradeloop.adapters.ratelimit import InMemoryRateLimiter
from tradeloop.app.trading import mode_guard
from tradeloop.clock import ManualClock
from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.execution.fills import FillLeg
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus, OrderType, Side
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.session import SQUARE_OFF
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings
from tradeloop.storage.ledger import open_ledger

CLIENT_ID = "1000000003"
DAY = date(2026, 1, 6)
SECURITY_ID = "52175"


@pytest.fixture
def dhan_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    with loopback_dhan(monkeypatch) as server:
        server.instruments[SECURITY_ID] = Instrument("NIFTY-Jan2026-24000-CE", "CALL", 24000.0)
        yield server


def live_manager(
    server: DhanLoopbackServer, ledger_url: str, clock: ManualClock
) -> PositionManager:
    """A position manager as a fresh live process builds it: only the ledger and Dhan remember."""
    ledger = open_ledger(ledger_url)
    broker = DhanBroker(
        CLIENT_ID,
        SecretStr(TEST_ACCESS_TOKEN),
        cost_table=CostTable.bundled(),
        rate_limiter=InMemoryRateLimiter(),
        base_url=server.base_url,
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


def super_order_intent(**overrides: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "strategy_id": "s-breakout",
        "symbol": "NIFTY-24000-CE",
        "security_id": SECURITY_ID,
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


def option_cost(side: Side, price: float, quantity: int) -> float:
    return (
        CostTable.bundled()
        .order_costs(InstrumentKind.OPTIONS, side is Side.BUY, price, quantity)
        .total
    )


@pytest.mark.parametrize(
    ("leg", "exit_price", "reason"),
    [("stop", 110.0, ExitReason.STOP), ("target", 140.0, ExitReason.TARGET)],
)
def test_leg_filled_at_dhan_closes_the_position_through_sync(
    dhan_server: DhanLoopbackServer, tmp_path: Path, leg: str, exit_price: float, reason: ExitReason
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    manager = live_manager(dhan_server, url, clock)
    intent = super_order_intent()
    manager.open(intent)
    [order] = dhan_server.orders_with_correlation_id(intent.id)

    dhan_server.fill(order.order_id, 120.0, at=ist_datetime(DAY, time(9, 31)))
    manager.sync()
    opened = manager.store.position(intent.id)
    assert opened is not None and opened.state is PositionState.OPEN
    assert (opened.filled_quantity, opened.entry_price) == (65, 120.0)

    trigger = dhan_server.trigger_stop if leg == "stop" else dhan_server.trigger_target
    trigger(order.order_id, exit_price, at=ist_datetime(DAY, time(10, 5)))
    manager.sync()

    closed = manager.store.position(intent.id)
    assert closed is not None and closed.state is PositionState.CLOSED
    assert (closed.exit_reason, closed.exit_price, closed.exit_filled_quantity) == (
        reason,
        exit_price,
        65,
    )
    assert closed.closed_at == datetime(2026, 1, 6, 4, 35, tzinfo=UTC)  # 10:05 IST
    [trade] = manager.store.trades(DAY)
    costs = option_cost(Side.BUY, 120.0, 65) + option_cost(Side.SELL, exit_price, 65)
    assert trade.gross_pnl == pytest.approx((exit_price - 120.0) * 65)
    assert trade.costs == pytest.approx(costs)
    assert trade.net_pnl == pytest.approx(trade.gross_pnl - costs)
    entry_fill, exit_fill = manager.store.fills(DAY)
    assert (entry_fill.leg, exit_fill.leg) == (
        FillLeg.ENTRY,
        FillLeg.STOP_LOSS if leg == "stop" else FillLeg.TARGET,
    )
    assert {entry_fill.correlation_id, exit_fill.correlation_id} == {intent.id}
    # Only the order the manager placed exists: the leg's fill needed no exit order.
    assert len(dhan_server.requests_to("POST", r"/(super/)?orders")) == 1


def test_restarted_manager_agrees_with_dhan_after_a_stop_filled_while_it_was_down(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    intent = super_order_intent()
    first = live_manager(dhan_server, url, clock)
    first.open(intent)
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    dhan_server.fill(order.order_id, 120.0, at=ist_datetime(DAY, time(9, 31)))
    first.sync()
    # The process dies; meanwhile the stop leg fills at Dhan.
    dhan_server.trigger_stop(order.order_id, 110.0, at=ist_datetime(DAY, time(11, 0)))

    restarted = live_manager(dhan_server, url, clock)
    report = restarted.start()

    assert report.ok, report.describe()
    position = restarted.store.position(intent.id)
    assert position is not None and position.state is PositionState.CLOSED
    assert position.exit_reason is ExitReason.STOP
    assert len(restarted.store.fills(DAY)) == 2  # the entry fill was not applied twice


# -- issue 11: the money path under faults, live ------------------------------------------------


def test_third_live_entry_is_allowed_with_max_open_positions_three(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    manager = live_manager(dhan_server, f"sqlite:///{tmp_path / 'ledger.sqlite'}", clock)

    positions = [manager.open(super_order_intent(sequence=n)) for n in range(4)]

    assert [p.state for p in positions] == [PositionState.PENDING] * 3 + [PositionState.REJECTED]
    assert "3 other positions are open or pending; the limit is 3" in positions[3].message
    assert len(dhan_server.requests_to("POST", r"/(super/)?orders")) == 3


def test_stop_move_dhan_never_acknowledged_is_sent_again_on_the_next_bar_close(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    manager = live_manager(dhan_server, f"sqlite:///{tmp_path / 'ledger.sqlite'}", clock)
    intent = super_order_intent()
    manager.open(intent, ExitPlan(trail_offset=5.0, break_even_r=None))
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    dhan_server.fill(order.order_id, 120.0, at=ist_datetime(DAY, time(9, 31)))
    manager.sync()
    dhan_server.fail_next("PUT", r"/super/orders/.+", status=500)  # the modify is lost

    manager.on_bar_close(SECURITY_ID, 130.0)  # the trail wants 125
    owed = manager.store.position(intent.id)
    assert owed is not None and (owed.stop, owed.broker_stop) == (125.0, 110.0)
    assert order.stop_loss_price == 110.0

    manager.on_bar_close(SECURITY_ID, 129.0)  # no new move: the owed one is sent again

    synced = manager.store.position(intent.id)
    assert synced is not None and (synced.stop, synced.broker_stop) == (125.0, 125.0)
    assert order.stop_loss_price == 125.0
    assert len(dhan_server.requests_to("PUT", r"/super/orders/.+")) == 2


def test_restart_reads_a_closed_super_order_from_dhans_fields_not_from_memory(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    intent = super_order_intent()
    live_manager(dhan_server, url, clock).open(intent)  # then the process dies
    [order] = dhan_server.orders_with_correlation_id(intent.id)
    order.book_shows_super_status = True  # Dhan lists it as CLOSED once a leg traded
    dhan_server.fill(order.order_id, 120.0, at=ist_datetime(DAY, time(9, 31)))
    dhan_server.trigger_stop(order.order_id, 110.0, at=ist_datetime(DAY, time(11, 0)))

    restarted = live_manager(dhan_server, url, clock)  # remembers nothing of super orders
    report = restarted.start()

    assert report.ok, report.describe()
    position = restarted.store.position(intent.id)
    assert position is not None and position.state is PositionState.CLOSED
    record = restarted.gateway.journal.get(intent.id)
    assert record is not None and record.status is OrderStatus.FILLED
    assert "unrecognised" not in record.message


def test_live_entry_prices_are_rounded_to_the_tick_before_they_reach_dhan(
    dhan_server: DhanLoopbackServer, tmp_path: Path
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    manager = live_manager(dhan_server, f"sqlite:///{tmp_path / 'ledger.sqlite'}", clock)

    manager.open(super_order_intent(price=120.03, stop_loss=110.02, target=140.04))

    [create] = dhan_server.requests_to("POST", "/super/orders")
    assert (create.body["price"], create.body["stopLossPrice"], create.body["targetPrice"]) == (
        120.0,
        110.05,
        140.0,
    )
