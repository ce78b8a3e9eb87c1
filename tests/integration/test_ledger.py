"""The ledger on SQLite and on a real throwaway PostgreSQL: the same tests on both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.intents import TRADING_DAY, future_entry
from support.postgres import PostgresServer, running_postgres, unavailable_reason
from tradeloop.domain.execution.fills import BrokerFill, FillLeg
from tradeloop.domain.execution.journal import DuplicateIntentError, Refusal
from tradeloop.domain.execution.orders import (
    BrokerOrder,
    OrderStatus,
    OrderType,
    Side,
)
from tradeloop.domain.execution.paper_book import PaperOrder
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.model import (
    Position,
    PositionEvent,
    PositionState,
    TradeRecord,
)
from tradeloop.domain.positions.store import StaleWriteError
from tradeloop.domain.risk.state import TradingState
from tradeloop.errors import ConfigError, TransientError
from tradeloop.storage.ledger import Ledger, open_ledger

DAY = TRADING_DAY
NOW = datetime(2026, 1, 6, 4, 0, tzinfo=UTC)  # 09:30 IST


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL ledger tests skipped: {reason}")
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    opened = open_ledger(ledger_url)
    yield opened
    opened.close()


intent = future_entry


def fill(fill_id: str, side: Side, quantity: int, price: float, **extra: object) -> BrokerFill:
    return BrokerFill.model_validate(
        {
            "fill_id": fill_id,
            "order_id": "PAPER-1",
            "correlation_id": "tl-x",
            "security_id": "13",
            "side": side,
            "quantity": quantity,
            "price": price,
            "ts": NOW,
            "costs": {"brokerage": 20.0, "stt": 1.5},
            **extra,
        }
    )


def position(version: int = 1, **overrides: object) -> Position:
    entry = intent()
    fields: dict[str, object] = {
        "position_id": entry.id,
        "strategy_id": "s-orb",
        "symbol": "NIFTY-FUT",
        "security_id": "13",
        "trading_day": DAY,
        "direction": 1,
        "quantity": 65,
        "entry_intent": entry,
        "initial_stop": 23_900.0,
        "stop": 23_900.0,
        "broker_stop": 23_900.0,
        "target": 24_200.0,
        "version": version,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Position.model_validate(fields)


def event(p: Position, kind: str = "created") -> PositionEvent:
    return PositionEvent(
        position_id=p.position_id,
        sequence=p.version,
        at=p.updated_at,
        kind=kind,
        from_state=None,
        to_state=p.state,
    )


# -- orders -----------------------------------------------------------------------------------


def test_pending_order_round_trips_with_tz_aware_times(ledger: Ledger) -> None:
    order = intent()
    ledger.create_pending(order, "paper", "paper", NOW)

    record = ledger.get(order.id)

    assert record is not None
    assert record.status is OrderStatus.PENDING
    assert record.intent == order
    assert record.created_at == NOW and record.created_at.tzinfo is not None


def test_second_order_for_the_same_intent_is_refused_by_the_database(ledger_url: str) -> None:
    # Two ledgers (two engines, as two processes would have): only the unique index can stop it.
    first, second = open_ledger(ledger_url), open_ledger(ledger_url)
    order = intent()
    first.create_pending(order, "paper", "paper", NOW)

    with pytest.raises(DuplicateIntentError, match=order.id):
        second.create_pending(order, "paper", "paper", NOW)

    assert len(first.orders()) == 1
    first.close()
    second.close()


def test_update_records_the_broker_answer_and_never_reopens_a_filled_order(ledger: Ledger) -> None:
    order = intent()
    ledger.create_pending(order, "paper", "paper", NOW)
    filled = BrokerOrder(
        order_id="P-1",
        correlation_id=order.id,
        status=OrderStatus.FILLED,
        side=Side.BUY,
        quantity=65,
        filled_quantity=65,
        average_price=24_001.5,
    )
    ledger.update(order.id, filled, NOW + timedelta(seconds=1))
    stale = BrokerOrder(
        order_id="P-1", correlation_id=order.id, status=OrderStatus.OPEN, side=Side.BUY, quantity=65
    )

    record = ledger.update(order.id, stale, NOW + timedelta(seconds=2))

    assert record.status is OrderStatus.FILLED
    assert record.broker_order_id == "P-1"
    assert record.average_price == 24_001.5
    stored = ledger.get(order.id)
    assert stored is not None and stored.status is OrderStatus.FILLED


def test_orders_of_one_day_oldest_first(ledger: Ledger) -> None:
    today = [intent(sequence=n) for n in range(3)]
    tomorrow = intent(trading_day=DAY + timedelta(days=1))
    for order in [*today, tomorrow]:
        ledger.create_pending(order, "paper", "paper", NOW)

    assert [r.intent_id for r in ledger.orders(DAY)] == [o.id for o in today]
    assert len(ledger.orders()) == 4


def test_refusals_are_kept_with_their_reasons(ledger: Ledger) -> None:
    refused = intent(order_type=OrderType.LIMIT, price=24_000.0)
    ledger.record_refusal(Refusal(intent=refused, reasons=("no stop", "window"), at=NOW))

    [stored] = ledger.refusals(DAY)

    assert stored.intent == refused and stored.reasons == ("no stop", "window")
    assert ledger.get(refused.id) is None


# -- controls ---------------------------------------------------------------------------------


def test_kill_switch_persists_across_reopening_with_its_history(ledger_url: str) -> None:
    first = open_ledger(ledger_url)
    assert not first.kill_switch().engaged
    first.set_kill_switch(True, "broker outage", NOW)
    first.close()

    reopened = open_ledger(ledger_url)

    switch = reopened.kill_switch()
    assert switch.engaged and switch.reason == "broker outage" and switch.changed_at == NOW
    reopened.set_kill_switch(False, "resolved", NOW + timedelta(minutes=5))
    assert [s.engaged for s in reopened.kill_switch_history()] == [True, False]
    reopened.close()


def test_day_state_only_gets_stricter_within_a_day(ledger: Ledger) -> None:
    ledger.set_day_state(DAY, TradingState.HALTED, "daily loss", NOW)

    kept = ledger.set_day_state(DAY, TradingState.ACTIVE, "try to loosen", NOW)

    assert kept.state is TradingState.HALTED and kept.reason == "daily loss"
    assert ledger.day_state(DAY + timedelta(days=1)).state is TradingState.ACTIVE


# -- positions, fills, trades -----------------------------------------------------------------


def test_position_write_is_refused_when_its_version_is_stale(ledger: Ledger) -> None:
    created = position()
    ledger.save(created, event(created))

    with pytest.raises(StaleWriteError, match="another position manager"):
        ledger.save(created, event(created))

    opened = created.model_copy(update={"version": 2, "state": PositionState.OPEN})
    ledger.save(opened, event(opened, "entry_filled"))
    assert ledger.position(created.position_id) == opened
    assert [e.kind for e in ledger.events(created.position_id)] == ["created", "entry_filled"]


def test_active_positions_exclude_closed_and_rejected(ledger: Ledger) -> None:
    for n, state in enumerate([PositionState.OPEN, PositionState.CLOSED, PositionState.REJECTED]):
        p = position(position_id=f"p{n}", state=state)
        ledger.save(p, event(p))

    assert [p.position_id for p in ledger.positions(active_only=True)] == ["p0"]
    assert len(ledger.positions(DAY)) == 3


def test_fills_are_recorded_once_and_the_trade_updates_daily_pnl(ledger: Ledger) -> None:
    created = position()
    entry = fill("f1", Side.BUY, 65, 24_000.0)
    ledger.save(created, event(created), fills=[entry])
    trade = TradeRecord(
        position_id=created.position_id,
        strategy_id="s-orb",
        symbol="NIFTY-FUT",
        security_id="13",
        trading_day=DAY,
        direction=1,
        quantity=65,
        entry_time=NOW,
        entry_price=24_000.0,
        exit_time=NOW + timedelta(minutes=3),
        exit_price=24_100.0,
        exit_reason=ExitReason.TARGET,
        gross_pnl=6_500.0,
        costs=43.0,
        net_pnl=6_457.0,
        r_multiple=0.99,
    )
    closed = created.model_copy(update={"version": 2, "state": PositionState.CLOSED})
    exit_fill = fill("f2", Side.SELL, 65, 24_100.0, leg=FillLeg.TARGET)

    ledger.save(closed, event(closed, "closed"), fills=[entry, exit_fill], trade=trade)

    assert [f.fill_id for f in ledger.fills(DAY)] == ["f1", "f2"]
    assert ledger.record_fill(entry) is False
    assert ledger.trades(DAY) == [trade]
    [daily] = ledger.daily_pnl()
    assert (daily.trading_day, daily.net_pnl, daily.trades) == (DAY, 6_457.0, 1)


def test_cash_is_summed_by_the_database_net_of_costs(ledger: Ledger) -> None:
    ledger.record_fill(fill("f1", Side.BUY, 65, 24_000.0))
    ledger.record_fill(fill("f2", Side.SELL, 65, 24_100.0))

    account = ledger.account(1_000_000.0, {})

    assert account.cash == pytest.approx(1_000_000.0 + 65 * 100.0 - 2 * 21.5)
    assert account.realized_pnl == pytest.approx(6_500.0)
    assert account.costs == pytest.approx(43.0)


# -- paper book -------------------------------------------------------------------------------


def test_paper_book_round_trips_orders_and_fills(ledger: Ledger) -> None:
    order = PaperOrder(
        order_id="PAPER-000001",
        correlation_id="tl-a",
        security_id="13",
        side=Side.BUY,
        quantity=65,
        order_type=OrderType.MARKET,
        created_at=NOW,
        updated_at=NOW,
    )
    ledger.commit_paper([order], [])
    filled = order.model_copy(update={"status": OrderStatus.FILLED, "average_price": 24_000.0})

    ledger.commit_paper([filled], [fill("PAPER-000001-F1", Side.BUY, 65, 24_000.0)])

    assert ledger.paper_orders() == [filled]
    assert [f.fill_id for f in ledger.paper_fills()] == ["PAPER-000001-F1"]


# -- engine -----------------------------------------------------------------------------------


def test_sqlite_ledger_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "ledger.sqlite"
    open_ledger(f"sqlite:///{path}").close()

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_locked_sqlite_ledger_is_a_transient_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(f"sqlite:///{path}", busy_timeout_ms=0)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientError, match="locked"):
            ledger.create_pending(intent(), "paper", "paper", NOW)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    ledger.create_pending(intent(), "paper", "paper", NOW)
    assert len(ledger.orders()) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a valid SQLAlchemy URL"),
        ("mysql://user:hunter2@db/tradeloop", "not supported"),
    ],
)
def test_bad_database_url_is_a_config_error_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        open_ledger(url)
    assert "hunter2" not in str(caught.value)


def test_a_ledger_written_before_tick_size_and_not_sent_opens_and_keeps_intent_ids(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    older = open_ledger(url)
    entry = intent()
    older.create_pending(entry, "paper", "paper", NOW)
    older.save(position(), event(position()))
    older.close()
    # What the previous version wrote: intents without the tick_size field, positions without
    # exit_refusals.
    with sqlite3.connect(tmp_path / "ledger.sqlite") as raw:
        raw.execute("UPDATE orders SET intent = json_remove(intent, '$.tick_size')")
        raw.execute(
            "UPDATE positions SET data = json_remove(json_remove(data, "
            "'$.entry_intent.tick_size'), '$.exit_refusals')"
        )

    reopened = open_ledger(url)
    record = reopened.get(entry.id)
    stored = reopened.position(entry.id)
    reopened.close()

    assert record is not None and record.intent_id == entry.id
    assert stored is not None and stored.entry_intent.id == entry.id
    assert stored.exit_refusals == 0
