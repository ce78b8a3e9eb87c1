"""The real `DhanFeedClient` against the local replay server (`adapters/dhan/replay.py`).

Faults are injected by the replay server's own controls (drop, silence, disconnect), the ones a
person uses at `tradeloop feed replay`. The replays run at high speed over a few minutes of
synthetic candles; no assertion depends on timing.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from tradeloop.adapters.dhan.feed import (
    DhanFeedClient,
    FeedDisconnectedError,
    ReconnectPolicy,
)
from tradeloop.adapters.dhan.feed_bars import FeedBars
from tradeloop.adapters.dhan.feed_codec import FeedMode, Instrument, MarketStatus, Packet
from tradeloop.adapters.dhan.replay import ReplayFeedServer
from tradeloop.adapters.dhan.replay_tape import ReplayTape
from tradeloop.app import feed
from tradeloop.app.stores import candle_store
from tradeloop.clock import Clock, ManualClock, SystemClock
from tradeloop.domain.market.bars import INDEX_PRICE_DECIMALS, bars_frame
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime
from tradeloop.domain.market.quotes import LtpCache, StalePriceError
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import Settings

CALENDAR = NSECalendar.default()
FAST = ReconnectPolicy(initial_delay=0.001, max_delay=0.01, max_consecutive_failures=5)
NIFTY: Instrument = (0, 13)
BANKNIFTY: Instrument = (0, 25)
SYMBOLS = {NIFTY: "NIFTY", BANKNIFTY: "BANKNIFTY"}
DAY = date(2025, 3, 3)  # a Monday
MONDAY_10AM_IST = ist_datetime(DAY, time(10, 0))
TOKEN = "TOKEN-SECRET-123"
# 1,200 market seconds a real second: a tick of each index every 12.5 ms.
QUICK = 1200.0


def minutes_of_candles(day: date = DAY, minutes: int = 30) -> dict[Instrument, pl.DataFrame]:
    return {
        instrument: generate_market(symbol, days=1, start=day).candles.head(minutes)
        for instrument, symbol in SYMBOLS.items()
    }


class Received:
    """A packet hook that counts ticks per instrument and per connection of the client."""

    def __init__(self) -> None:
        self.client: DhanFeedClient | None = None
        self.ticks: dict[tuple[int, Instrument], int] = {}
        self.market_status: set[Instrument] = set()

    def __call__(self, packet: Packet, _received_at: datetime) -> None:
        instrument = (packet.segment, packet.security_id)
        if isinstance(packet, MarketStatus):
            self.market_status.add(instrument)
        elif hasattr(packet, "last_price"):
            assert self.client is not None
            key = (self.client.connections, instrument)
            self.ticks[key] = self.ticks.get(key, 0) + 1

    def on(self, connection: int, instrument: Instrument) -> int:
        return self.ticks.get((connection, instrument), 0)


def make_client(
    url: str,
    on_packet: Callable[[Packet, datetime], None],
    clock: Clock | None = None,
    token: str = TOKEN,
) -> DhanFeedClient:
    cache = LtpCache(stale_after=timedelta(seconds=5), is_market_open=CALENDAR.is_open)
    return DhanFeedClient(
        client_id="1000000003",
        access_token=SecretStr(token),
        cache=cache,
        clock=clock or ManualClock(MONDAY_10AM_IST),
        policy=FAST,
        base_url=url,
        on_packet=on_packet,
    )


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (yielding to the loop) until `predicate()` holds: no fixed sleeps."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.002)

    await asyncio.wait_for(poll(), timeout)


async def stop(client: DhanFeedClient, run: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(run, timeout=10)


def test_a_dropped_connection_reconnects_and_loses_no_subscription() -> None:
    received = Received()

    async def scenario() -> None:
        tape = ReplayTape.from_candles(minutes_of_candles(minutes=120))
        async with ReplayFeedServer(tape, speed=QUICK) as server:
            client = make_client(server.url, received)
            received.client = client
            await client.subscribe([NIFTY], FeedMode.QUOTE)
            await client.subscribe([BANKNIFTY], FeedMode.TICKER)
            run = asyncio.create_task(client.run())
            await eventually(lambda: received.on(1, NIFTY) >= 3 and received.on(1, BANKNIFTY) >= 3)

            await server.drop()
            await eventually(lambda: received.on(2, NIFTY) >= 3 and received.on(2, BANKNIFTY) >= 3)
            first, second = server.connection_subscriptions
            assert second == first == {NIFTY: FeedMode.QUOTE, BANKNIFTY: FeedMode.TICKER}
            assert client.connections == server.connections == 2
            assert not server.finished.is_set()  # the ticks after the reconnect are the tape's
            await stop(client, run)

    asyncio.run(scenario())


def test_silence_past_n_seconds_marks_the_price_stale_until_ticks_resume() -> None:
    received = Received()
    clock = ManualClock(MONDAY_10AM_IST)

    async def scenario() -> None:
        tape = ReplayTape.from_candles(minutes_of_candles(minutes=120))
        async with ReplayFeedServer(tape, speed=QUICK) as server:
            client = make_client(server.url, received, clock)
            received.client = client
            cache = client.cache
            await client.subscribe([NIFTY], FeedMode.QUOTE)
            run = asyncio.create_task(client.run())
            await eventually(lambda: received.on(1, NIFTY) >= 2)
            assert cache.entry_price(NIFTY, clock.now()) > 0

            await server.silence(60.0)
            # Every packet sent before the silence has arrived: from here on, nothing comes.
            await eventually(lambda: client.packets == server.packets_sent)
            silent_from = client.packets
            clock.set(MONDAY_10AM_IST + timedelta(seconds=6))
            assert cache.stale(NIFTY, clock.now(), market_open=True)
            with pytest.raises(StalePriceError, match="no tick for 6 s"):
                cache.entry_price(NIFTY, clock.now())

            await server.resume()
            await eventually(lambda: client.packets > silent_from)  # the tape goes on
            last = cache.get(NIFTY)
            assert last is not None and last.received_at == clock.now()
            assert not cache.stale(NIFTY, clock.now(), market_open=True)
            assert cache.entry_price(NIFTY, clock.now()) == last.price
            await stop(client, run)

    asyncio.run(scenario())


def test_a_token_expired_disconnect_stops_reconnecting_and_names_the_fix() -> None:
    received = Received()

    async def scenario() -> None:
        tape = ReplayTape.from_candles(minutes_of_candles(minutes=120))
        async with ReplayFeedServer(tape, speed=QUICK) as server:
            client = make_client(server.url, received)
            received.client = client
            await client.subscribe(list(SYMBOLS), FeedMode.QUOTE)
            run = asyncio.create_task(client.run())
            await eventually(lambda: received.on(1, NIFTY) >= 1)

            await server.disconnect(807)
            with pytest.raises(FeedDisconnectedError) as raised:
                await asyncio.wait_for(run, timeout=10)
            assert raised.value.reason == 807
            message = str(raised.value)
            assert "expired" in message and "TRADELOOP_DHAN_ACCESS_TOKEN" in message
            assert "will not reconnect" in message and TOKEN not in message
            assert server.connections == 1  # it did not try again

    asyncio.run(scenario())


def _store_synthetic_days(tmp_path: Path, start: date, days: int) -> tuple[Settings, list[date]]:
    settings = Settings(data_dir=tmp_path)
    store = candle_store(settings)
    for symbol in SYMBOLS.values():
        store.write(generate_market(symbol, days=days, start=start).candles)
    return settings, CALENDAR.trading_days(start, start + timedelta(days=3 * days))[:days]


async def _replay_day(tape: ReplayTape, mode: FeedMode) -> FeedBars:
    bars = FeedBars(SYMBOLS, calendar=CALENDAR, price_decimals=INDEX_PRICE_DECIMALS)
    received = Received()
    ended = asyncio.Event()

    def on_packet(packet: Packet, received_at: datetime) -> None:
        bars.on_packet(packet, received_at)
        received(packet, received_at)
        if received.market_status == set(SYMBOLS):
            ended.set()

    async with ReplayFeedServer(tape, speed=0) as server:
        client = make_client(server.url, on_packet, SystemClock())
        received.client = client
        await client.subscribe(list(SYMBOLS), mode)
        run = asyncio.create_task(client.run())
        await asyncio.wait_for(ended.wait(), timeout=30)  # the end-of-tape market status
        await stop(client, run)
        assert client.connections == 1
    bars.flush()
    return bars


@pytest.mark.parametrize("mode", [FeedMode.QUOTE, FeedMode.FULL], ids=["quote", "full"])
def test_a_replayed_day_decodes_back_into_exactly_the_stored_bars(
    mode: FeedMode, tmp_path: Path
) -> None:
    settings, days = _store_synthetic_days(tmp_path, date(2025, 6, 2), days=3)
    store = candle_store(settings)
    for day in days:
        tape = feed.replay_tape(settings, list(SYMBOLS.values()), day)
        if day != days[0]:
            assert set(tape.previous_close) == set(SYMBOLS)  # the day before is stored too
        bars = asyncio.run(_replay_day(tape, mode))
        start = ist_datetime(day, time(0, 0))
        for instrument, symbol in SYMBOLS.items():
            stored = store.load(symbol, "1m", start, start + timedelta(days=1))
            rebuilt = bars_frame(bars.bars[instrument])
            assert stored.height == 375
            assert rebuilt.equals(stored), f"{symbol} {day}"
            builder = bars.builders[instrument]
            assert builder.dropped_late == builder.dropped_invalid == 0


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Root, every existing logger and websockets' at DEBUG, into caplog and one more buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["websockets", "websockets.client", "websockets.server", "tradeloop", "asyncio"]
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in names]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    caplog.set_level(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled


def test_no_access_token_in_any_output_at_debug_through_a_reconnect_and_a_fatal_disconnect(
    everything_at_debug: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    received = Received()
    log_file = tmp_path / "session.log"
    file_handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(file_handler)

    async def scenario() -> None:
        tape = ReplayTape.from_candles(minutes_of_candles(minutes=120))
        async with ReplayFeedServer(tape, speed=QUICK) as server:
            client = make_client(server.url, received)
            received.client = client
            print(repr(client))
            await client.subscribe(list(SYMBOLS), FeedMode.QUOTE)
            run = asyncio.create_task(client.run())
            await eventually(lambda: received.on(1, NIFTY) >= 1)
            await server.drop()
            await eventually(lambda: received.on(2, NIFTY) >= 1)
            await server.disconnect(807)
            with pytest.raises(FeedDisconnectedError) as raised:
                await asyncio.wait_for(run, timeout=10)
            print(raised.value)
            logging.getLogger("tradeloop").exception("the feed stopped", exc_info=raised.value)

    try:
        asyncio.run(scenario())
    finally:
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()
    written = everything_at_debug.getvalue()
    captured = capsys.readouterr()
    # Both sides logged the request line, with the token masked.
    assert "> GET /?version=2&token=***" in written
    assert "< GET /?version=2&token=***" in written
    assert "reason 807" in caplog.text
    outputs = {"stream": written, "caplog": caplog.text, "out": captured.out, "err": captured.err}
    outputs |= {
        str(path): path.read_text(encoding="utf-8", errors="replace")
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    for name, output in outputs.items():
        assert TOKEN not in output, name


def test_the_replay_refuses_a_connection_without_the_feed_query() -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def scenario() -> None:
        async with ReplayFeedServer(ReplayTape.from_candles({}), speed=0) as server:
            with pytest.raises(InvalidStatus) as raised:
                async with connect(f"{server.url}/?version=2&clientId=1&authType=2"):
                    pass
            response = raised.value.response
            assert response.status_code == 400
            assert b"token is missing" in response.body
            assert server.connections == 0

    asyncio.run(scenario())


def test_exchange_times_are_the_candle_minute_plus_the_tick_offsets() -> None:
    times: list[int] = []

    async def scenario() -> None:
        candles = minutes_of_candles(minutes=2)
        done = asyncio.Event()

        def on_packet(packet: Packet, _received_at: datetime) -> None:
            if isinstance(packet, MarketStatus):
                done.set()
            elif hasattr(packet, "last_trade_time"):
                times.append(packet.last_trade_time)

        async with ReplayFeedServer(ReplayTape.from_candles({NIFTY: candles[NIFTY]}), speed=0) as s:
            client = make_client(s.url, on_packet)
            await client.subscribe([NIFTY], FeedMode.TICKER)
            run = asyncio.create_task(client.run())
            await asyncio.wait_for(done.wait(), timeout=10)
            await stop(client, run)

    asyncio.run(scenario())
    open_ = int(ist_datetime(DAY, time(9, 15)).timestamp())
    assert times == [open_ + offset for offset in (0, 15, 30, 45, 60, 75, 90, 105)]
    assert datetime.fromtimestamp(times[0], UTC) == ist_datetime(DAY, time(9, 15))
