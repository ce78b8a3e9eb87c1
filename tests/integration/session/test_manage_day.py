"""A paper trading day end to end: prices over the local replay of Dhan's feed, decisions,
orders through the gateway, positions to their exits; the ledger agrees with itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from support.records import day_trades
from tradeloop.app import stores
from tradeloop.app.manage import manage_paper_day
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.model import PositionState
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.errors import NotFoundError
from tradeloop.settings import load_settings

DAY = date(2025, 3, 5)
SPECS = [
    (f"dep-{spec.id}", spec)
    for spec in random_specs(11, 8, "NIFTY", "5m")
    if spec.instrument.kind != "option"
]


@pytest.fixture
def stored() -> None:
    market = generate_market("NIFTY", days=30, start=date(2025, 2, 3), seed=21)
    stores.candle_store(load_settings()).write(market.candles)


@pytest.mark.usefixtures("stored")
def test_the_feed_replay_trades_the_day_as_the_stored_minutes_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    by_store = manage_paper_day(load_settings(), DAY, source="store", strategies=SPECS)
    from_store = day_trades(DAY)
    monkeypatch.setenv("TRADELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'feed.sqlite'}")
    over_feed = manage_paper_day(load_settings(), DAY, source="feed", strategies=SPECS)
    assert over_feed.minutes == by_store.minutes == 375
    assert from_store and day_trades(DAY) == from_store
    assert over_feed.net_pnl == pytest.approx(by_store.net_pnl)


@pytest.mark.usefixtures("stored")
def test_after_the_day_every_position_is_closed_and_every_trade_has_its_orders() -> None:
    summary = manage_paper_day(load_settings(), DAY, source="store", strategies=SPECS)
    ledger = stores.ledger(load_settings())
    try:
        positions = ledger.positions(DAY)
        assert positions and not ledger.positions(DAY, active_only=True)
        closed = [p for p in positions if p.state is PositionState.CLOSED]
        assert len(closed) == len(summary.trades)
        order_ids = {order.intent.id for order in ledger.orders(DAY)}
        for position in closed:
            assert position.position_id in order_ids  # the entry went through the gateway
            if position.exit_reason is ExitReason.SQUARE_OFF:  # the manager's own exit order
                assert position.exit_intent is not None and position.exit_intent.id in order_ids
            # (a stop or target exit is the broker's leg of the entry's super order)
    finally:
        ledger.close()


@pytest.mark.usefixtures("stored")
def test_a_day_without_candles_or_deployments_is_refused_with_what_to_do() -> None:
    with pytest.raises(NotFoundError, match="no active paper deployment"):
        manage_paper_day(load_settings(), DAY, source="store")
    with pytest.raises(NotFoundError, match="not an NSE trading day"):
        manage_paper_day(load_settings(), date(2025, 3, 8), source="store", strategies=SPECS)
    with pytest.raises(NotFoundError, match="no stored 1m candles of NIFTY on 2025-06-02"):
        manage_paper_day(load_settings(), date(2025, 6, 2), source="store", strategies=SPECS)
