"""`tradeloop kill-switch`, `live check`, `positions`, `orders`, `trades`: what a trader sees."""

from __future__ import annotations

from datetime import date, time

import pytest
from typer.testing import CliRunner

from tradeloop.app import stores
from tradeloop.app.trading import paper_stack
from tradeloop.cli import app
from tradeloop.clock import ManualClock
from tradeloop.domain.execution.orders import BrokerOrder, OrderIntent, Side
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.positions.replay import Bar, PaperReplay
from tradeloop.errors import OrderStateUnknownError, UserError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings

runner = CliRunner()
TOKEN = "tok-SECRET-123"
DAY = date(2026, 1, 6)


def test_kill_switch_round_trip_is_persisted_with_reasons() -> None:
    on = runner.invoke(app, ["kill-switch", "on", "--reason", "feed frozen"])
    status = runner.invoke(app, ["kill-switch", "status"])
    off = runner.invoke(app, ["kill-switch", "off", "--reason", "feed back"])

    assert on.exit_code == 0 and "mode: paper" in on.output and "ON" in on.output
    assert "kill switch: ON" in status.output and "feed frozen" in status.output
    assert off.exit_code == 0
    history = stores.ledger(load_settings()).kill_switch_history()
    assert [(s.engaged, s.reason) for s in history] == [(True, "feed frozen"), (False, "feed back")]


def test_kill_switch_needs_a_reason() -> None:
    result = runner.invoke(app, ["kill-switch", "on", "--reason", "  "])
    assert isinstance(result.exception, UserError)
    assert "a reason is required" in str(result.exception)


def test_live_check_lists_missing_switches_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", TOKEN)

    result = runner.invoke(app, ["live", "check"])

    assert result.exit_code == 1
    assert "mode: paper" in result.output
    assert "TRADELOOP_LIVE_CONFIRM" in result.output and "missing" in result.output
    assert TOKEN not in result.output


def test_live_check_passes_with_every_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TRADING_MODE": "live",
        "DHAN_CLIENT_ID": "1000000003",
        "DHAN_ACCESS_TOKEN": TOKEN,
        "LIVE_CONFIRM": LIVE_CONFIRM_PHRASE,
    }.items():
        monkeypatch.setenv(f"TRADELOOP_{name}", value)

    result = runner.invoke(app, ["live", "check"])

    assert result.exit_code == 0, result.output
    assert "mode: live" in result.output and "real money" in result.output
    assert TOKEN not in result.output and "1000000003" not in result.output


def test_positions_orders_and_trades_show_a_paper_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich reads it: one table row per line
    settings = load_settings(risk={"capital": 5_000_000.0})
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    stack = paper_stack(
        settings, stores.ledger(settings), clock, paper=PaperConfig(slippage_bps=0.0)
    )
    assert isinstance(stack.broker, PaperBroker)
    replay = PaperReplay(stack.positions, stack.broker, clock)
    intent = OrderIntent(
        strategy_id="s-cli",
        symbol="NIFTY-FUT",
        security_id="13",
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        stop_loss=23_900.0,
        target=24_250.0,
        reference_price=24_000.0,
        trading_day=DAY,
    )
    bars = [
        Bar(
            security_id="13", ts=ist_datetime(DAY, time(9, 30 + n)), open=o, high=h, low=lo, close=c
        )
        for n, (o, h, lo, c) in enumerate(
            [
                (23_990, 24_010, 23_980, 24_000),
                (24_000, 24_050, 23_990, 24_040),
                (24_040, 24_260, 24_030, 24_255),
            ]
        )
    ]
    replay.bar(bars[0], lambda _: [(intent, ExitPlan(break_even_r=None))])
    replay.bar(bars[1])
    replay.bar(bars[2], lambda _: [(intent.model_copy(update={"stop_loss": None}), ExitPlan())])

    day = ["--day", DAY.isoformat()]
    positions = runner.invoke(app, ["positions", *day])
    orders = runner.invoke(app, ["orders", *day])
    trades = runner.invoke(app, ["trades", *day])

    assert "mode: paper" in positions.output and "CLOSED" in positions.output
    assert "REJECTED" in positions.output
    assert "FILLED" in orders.output and "refused (nothing sent)" in orders.output
    assert "stop loss is required" in orders.output
    assert "target" in trades.output and "₹" in trades.output and "09:32" in trades.output


def test_bad_day_is_refused_with_the_format() -> None:
    result = runner.invoke(app, ["trades", "--day", "06-01-2026"])
    assert isinstance(result.exception, UserError) and "YYYY-MM-DD" in str(result.exception)


def test_orders_resolve_marks_an_absent_unknown_order_not_placed() -> None:
    ledger = stores.ledger(load_settings())
    intent = OrderIntent(
        strategy_id="s-cli",
        symbol="NIFTY-FUT",
        security_id="13",
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        reference_price=24_000.0,
        trading_day=DAY,
    )
    ledger.create_pending(intent, "paper", "paper", ist_datetime(DAY, time(9, 30)))

    unconfirmed = runner.invoke(app, ["orders", "resolve", intent.id, "--reason", "checked"])
    resolved = runner.invoke(
        app, ["orders", "resolve", intent.id, "--not-placed", "--reason", "not in the book"]
    )

    assert unconfirmed.exit_code == 2
    assert resolved.exit_code == 0, resolved.output
    assert "mode: paper" in resolved.output and "NOT_SENT" in resolved.output
    record = ledger.get(intent.id)
    assert record is not None and "not in the book" in record.message


class LosesTheCreate(PaperBroker):
    """The create never reached the paper book and no answer came back: UNKNOWN."""

    def place(self, intent: OrderIntent) -> BrokerOrder:
        return BrokerOrder.unknown(intent, "read timed out")


def test_orders_resolve_also_rejects_the_unknown_entrys_position() -> None:
    settings = load_settings(risk={"capital": 5_000_000.0})
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    stack = paper_stack(settings, stores.ledger(settings), clock, broker_class=LosesTheCreate)
    intent = OrderIntent(
        strategy_id="s-cli",
        symbol="NIFTY-FUT",
        security_id="13",
        side=Side.BUY,
        quantity=65,
        lot_size=65,
        stop_loss=23_900.0,
        target=24_250.0,
        reference_price=24_000.0,
        trading_day=DAY,
    )
    with pytest.raises(OrderStateUnknownError):
        stack.positions.open(intent)

    resolved = runner.invoke(
        app, ["orders", "resolve", intent.id, "--not-placed", "--reason", "not in the book"]
    )

    assert resolved.exit_code == 0, resolved.output
    assert f"position {intent.id}: REJECTED" in resolved.output
    position = stores.ledger(settings).position(intent.id)
    assert position is not None and position.state is PositionState.REJECTED
