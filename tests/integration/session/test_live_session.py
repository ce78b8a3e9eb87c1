"""Today's session over Dhan's live market feed (`app.live_session`), its feed URL pointed at
the local replay of a stored day: the session trades as the same day replayed does, ends by
itself once the last minute was traded and the feed went quiet, and in live mode sends its
orders to Dhan (a loopback server speaking Dhan's v2 REST)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from support.dhan_server import (
    TEST_ACCESS_TOKEN,
    TEST_CLIENT_ID,
    DhanLoopbackServer,
    loopback_dhan,
)
from support.records import day_trades, passed_record
from tradeloop.adapters.dhan.replay import ReplayFeedServer
from tradeloop.app import stores
from tradeloop.app.feed import replay_tape
from tradeloop.app.live_session import manage_live_session
from tradeloop.app.manage import manage_paper_day
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.model import PositionState
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.errors import NotFoundError
from tradeloop.settings import LIVE_CONFIRM_PHRASE, load_settings

DAY = date(2025, 3, 5)
SPECS = [s for s in random_specs(11, 8, "NIFTY", "5m") if s.instrument.kind != "option"]


class ReplayInThread:
    """The replay feed of a stored day on its own event loop (the session runs its own)."""

    def __init__(self, day: date) -> None:
        self.tape = replay_tape(load_settings(), ["NIFTY"], day)
        self.url = ""
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        async with ReplayFeedServer(self.tape, speed=0, port=0) as server:
            self.url = server.url
            self._ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.05)

    def __enter__(self) -> ReplayInThread:
        self._thread.start()
        assert self._ready.wait(10), "the replay server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    market = generate_market("NIFTY", days=30, start=date(2025, 2, 3), seed=21)
    stores.candle_store(settings).write(market.candles)
    # The feed client needs credentials; the replay accepts any token.
    monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", "1000000001")
    monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", "test-token-not-real")


def _deploy(mode: str = "paper") -> list[str]:
    """The specs deployed in the ledger database the environment names now."""
    store = stores.deployment_store(load_settings())
    at = datetime(2025, 3, 4, tzinfo=UTC)
    try:
        added = [store.add(passed_record(spec), run_id="t", mode="paper", at=at) for spec in SPECS]
        if mode == "live":
            added = [store.promote(d.id, at) for d in added]
        return [d.id for d in added]
    finally:
        store.close()


@pytest.mark.usefixtures("deployed")
def test_a_session_over_the_live_feed_trades_as_the_replayed_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'replayed.sqlite'}")
    _deploy()
    replayed = manage_paper_day(load_settings(), DAY, source="store")
    expected = day_trades(DAY)
    assert expected, "the day must trade for the test to mean anything"

    monkeypatch.setenv("TRADELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'live.sqlite'}")
    _deploy()
    with ReplayInThread(DAY) as feed:
        monkeypatch.setenv("TRADELOOP_DHAN_FEED_URL", feed.url)
        session = manage_live_session(load_settings(), DAY, quiet=timedelta(seconds=1))

    assert session.minutes == replayed.minutes == 375  # ended by itself after the last minute
    assert day_trades(DAY) == expected
    assert session.net_pnl == pytest.approx(replayed.net_pnl)


@pytest.mark.usefixtures("deployed")
def test_a_session_with_nothing_deployed_in_its_mode_or_no_session_is_refused() -> None:
    _deploy()  # in paper: a live session has nothing to trade
    with pytest.raises(NotFoundError, match="no active live deployment"):
        manage_live_session(
            load_settings(
                trading_mode="live",
                live_confirm="yes-i-accept-real-losses",
            ),
            DAY,
        )
    with pytest.raises(Exception, match="not an NSE trading day"):
        manage_live_session(load_settings(), date(2025, 3, 8))


@pytest.fixture
def dhan_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanLoopbackServer]:
    with loopback_dhan(monkeypatch) as server:
        yield server


@pytest.mark.usefixtures("deployed")
def test_live_the_entries_go_to_dhan_once_each_and_nothing_is_left_open(
    dhan_server: DhanLoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every live switch set, Dhan on loopback: each entry decided is one super order at Dhan
    (its correlation id once); Dhan fills none here, so the position manager cancels them by
    the square-off, and the day ends with nothing open."""
    for name, value in {
        "TRADELOOP_TRADING_MODE": "live",
        "TRADELOOP_LIVE_CONFIRM": LIVE_CONFIRM_PHRASE,
        "TRADELOOP_DHAN_CLIENT_ID": TEST_CLIENT_ID,
        "TRADELOOP_DHAN_ACCESS_TOKEN": TEST_ACCESS_TOKEN,
        "TRADELOOP_DHAN_BASE_URL": dhan_server.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    deployed = _deploy("live")
    with ReplayInThread(DAY) as feed:
        monkeypatch.setenv("TRADELOOP_DHAN_FEED_URL", feed.url)
        session = manage_live_session(load_settings(), DAY, quiet=timedelta(seconds=1))

    assert session.minutes == 375 and not session.trades
    placed = list(dhan_server.orders.values())
    assert placed and all(order.is_super for order in placed)
    assert len({order.correlation_id for order in placed}) == len(placed)  # none twice
    assert {order.status for order in placed} == {"CANCELLED"}
    ledger = stores.ledger(load_settings())
    try:
        positions = ledger.positions(DAY)
        sent = {p.position_id for p in positions if p.state is not PositionState.REJECTED}
        assert sent == {o.correlation_id for o in placed}  # the refused ones never left
        assert {p.strategy_id for p in positions} <= set(deployed)
        assert not ledger.positions(DAY, active_only=True)
        assert all(record.mode == "live" for record in ledger.orders(DAY))
    finally:
        ledger.close()
