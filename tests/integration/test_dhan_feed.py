"""DhanFeedClient against a loopback `websockets` server speaking Dhan's v2 feed protocol."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection, serve

from tradeloop.adapters.dhan import feed_codec
from tradeloop.adapters.dhan.feed import (
    DhanFeedClient,
    FeedDisconnectedError,
    FeedUnavailableError,
    ReconnectPolicy,
)
from tradeloop.adapters.dhan.feed_codec import FeedMode
from tradeloop.clock import ManualClock
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.quotes import LtpCache, StalePriceError

TOKEN = "feedTOKEN-7f3a9c-DO-NOT-LOG"
FAST = ReconnectPolicy(initial_delay=0.001, max_delay=0.01, max_consecutive_failures=3)
MONDAY_10AM_IST = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)
NIFTY = (int(feed_codec.ExchangeSegment.IDX_I), 13)

Handler = Callable[["FeedServer", ServerConnection], Awaitable[None]]


class FeedServer:
    """Records every connection's path and JSON requests; `on_connect` scripts what it sends."""

    def __init__(self, on_connect: Handler | None = None) -> None:
        self.on_connect = on_connect
        self.paths: list[str] = []
        self.requests: list[list[tuple[int, list[tuple[int, int]]]]] = []
        self.changed = asyncio.Condition()
        self.port = 0

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.requests.append([])
        mine = self.requests[-1]
        await self._notify()
        script = None
        if self.on_connect is not None:  # runs beside the reading loop below
            script = asyncio.create_task(self.on_connect(self, ws))
        try:
            async for message in ws:
                assert isinstance(message, str)
                mine.append(feed_codec.parse_request(message))
                await self._notify()
        finally:
            if script is not None and not script.done():
                script.cancel()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout=10)

    def instruments(self, connection: int) -> list[tuple[int, int]]:
        return [item for _, batch in self.requests[connection] for item in batch]


def make_client(port: int, clock: ManualClock | None = None, token: str = TOKEN) -> DhanFeedClient:
    calendar = NSECalendar.default()
    cache = LtpCache(stale_after=timedelta(seconds=5), is_market_open=calendar.is_open)
    return DhanFeedClient(
        client_id="1000000003",
        access_token=SecretStr(token),
        cache=cache,
        clock=clock or ManualClock(MONDAY_10AM_IST),
        policy=FAST,
        base_url=f"ws://127.0.0.1:{port}",
    )


async def serving(
    server: FeedServer, scenario: Callable[[DhanFeedClient], Awaitable[None]]
) -> None:
    async with serve(server.handler, "127.0.0.1", 0) as listening:
        server.port = listening.sockets[0].getsockname()[1]
        client = make_client(server.port)
        await scenario(client)


async def stop(client: DhanFeedClient, run: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(run, timeout=10)


def test_subscriptions_go_out_in_messages_of_at_most_100() -> None:
    server = FeedServer()
    instruments = [(2, 40000 + n) for n in range(250)]

    async def scenario(client: DhanFeedClient) -> None:
        await client.subscribe(instruments, FeedMode.TICKER)
        run = asyncio.create_task(client.run())
        await server.wait_for(
            lambda: len(server.instruments(0)) == 250 if server.requests else False
        )
        assert [len(batch) for _, batch in server.requests[0]] == [100, 100, 50]
        assert {code for code, _ in server.requests[0]} == {15}
        assert server.instruments(0) == instruments
        assert server.paths[0].startswith("/?version=2&token=")
        assert "clientId=1000000003" in server.paths[0] and "authType=2" in server.paths[0]
        await stop(client, run)

    asyncio.run(serving(server, scenario))


async def drop_first_connection_after_subscriptions(
    server: FeedServer, ws: ServerConnection
) -> None:
    if len(server.paths) == 1:
        await server.wait_for(lambda: len(server.instruments(0)) == 170)
        assert ws.transport is not None
        ws.transport.abort()  # a dropped connection, no close handshake


def test_a_dropped_connection_reconnects_and_resubscribes_everything() -> None:
    server = FeedServer(drop_first_connection_after_subscriptions)
    tickers = [(2, 50000 + n) for n in range(150)]
    fulls = [(0, n) for n in range(20)]

    async def scenario(client: DhanFeedClient) -> None:
        await client.subscribe(tickers, FeedMode.TICKER)
        await client.subscribe(fulls, FeedMode.FULL)
        run = asyncio.create_task(client.run())
        await server.wait_for(
            lambda: len(server.requests) == 2 and len(server.instruments(1)) == 170
        )
        assert sorted(server.instruments(1)) == sorted(tickers + fulls)
        by_code = {code: [item for c, b in server.requests[1] if c == code for item in b]
                   for code in (15, 21)}  # fmt: skip
        assert sorted(by_code[15]) == sorted(tickers) and sorted(by_code[21]) == sorted(fulls)
        assert all(len(batch) <= 100 for _, batch in server.requests[1])
        assert client.connections == 2
        await stop(client, run)

    asyncio.run(serving(server, scenario))


async def expired_token(server: FeedServer, ws: ServerConnection) -> None:
    await ws.send(feed_codec.encode_disconnect(0, 0, 807))
    await ws.close()


def test_an_auth_disconnect_stops_reconnecting_and_names_the_fix() -> None:
    server = FeedServer(expired_token)

    async def scenario(client: DhanFeedClient) -> None:
        await client.subscribe([NIFTY], FeedMode.TICKER)
        with pytest.raises(FeedDisconnectedError, match="renew") as raised:
            await asyncio.wait_for(client.run(), timeout=10)
        assert raised.value.reason == 807
        assert TOKEN not in str(raised.value)
        assert len(server.paths) == 1

    asyncio.run(serving(server, scenario))


def test_a_non_auth_disconnect_reconnects() -> None:
    async def other_reason_once(server: FeedServer, ws: ServerConnection) -> None:
        if len(server.paths) == 1:
            await ws.send(feed_codec.encode_disconnect(0, 0, 800))
            await ws.close()

    server = FeedServer(other_reason_once)

    async def scenario(client: DhanFeedClient) -> None:
        await client.subscribe([NIFTY], FeedMode.TICKER)
        run = asyncio.create_task(client.run())
        await server.wait_for(
            lambda: len(server.requests) == 2 and server.instruments(1) == [NIFTY]
        )
        await stop(client, run)

    asyncio.run(serving(server, scenario))


def test_an_unreachable_feed_gives_up_after_the_policy_with_a_transient_error() -> None:
    async def scenario() -> None:
        async with serve(FeedServer().handler, "127.0.0.1", 0) as listening:
            port = listening.sockets[0].getsockname()[1]
        client = make_client(port)  # the server is gone: every connect is refused
        with pytest.raises(FeedUnavailableError, match="3 connection attempts") as raised:
            await asyncio.wait_for(client.run(), timeout=10)
        assert TOKEN not in str(raised.value)

    asyncio.run(scenario())


def test_silence_past_n_seconds_marks_the_price_stale_and_refuses_entries() -> None:
    async def one_tick(server: FeedServer, ws: ServerConnection) -> None:
        await ws.send(feed_codec.encode_ticker(*NIFTY, 22119.5, 1741000000))

    server = FeedServer(one_tick)
    clock = ManualClock(MONDAY_10AM_IST)

    async def scenario() -> None:
        async with serve(server.handler, "127.0.0.1", 0) as listening:
            client = make_client(listening.sockets[0].getsockname()[1], clock)
            cache = client.cache
            run = asyncio.create_task(client.run())
            await server.wait_for(lambda: bool(server.paths))
            while NIFTY not in cache:  # the tick is in flight on loopback
                await asyncio.sleep(0)
            assert cache.entry_price(NIFTY, clock.now()) == 22119.5
            last = cache.get(NIFTY)
            assert last is not None and last.received_at == MONDAY_10AM_IST
            assert last.exchange_time == datetime.fromtimestamp(1741000000, UTC)

            clock.set(MONDAY_10AM_IST + timedelta(seconds=5))
            assert not cache.stale(NIFTY, clock.now(), market_open=True)
            clock.set(MONDAY_10AM_IST + timedelta(seconds=6))
            assert cache.stale(NIFTY, clock.now(), market_open=True)
            with pytest.raises(StalePriceError, match="no tick for 6 s"):
                cache.entry_price(NIFTY, clock.now())
            await stop(client, run)

    asyncio.run(scenario())


@pytest.fixture
def everything_at_debug() -> Iterator[io.StringIO]:
    """Root and every existing logger at DEBUG, all into one buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    loggers = (
        [root]
        + [
            logger
            for logger in logging.Logger.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ]
        + [
            logging.getLogger(name)
            for name in ("websockets", "websockets.client", "websockets.server")
        ]
    )
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled


def test_the_token_never_appears_in_any_output_at_debug(
    everything_at_debug: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FeedServer(drop_first_connection_after_subscriptions)

    async def scenario(client: DhanFeedClient) -> None:
        await client.subscribe([(2, 50000 + n) for n in range(170)], FeedMode.TICKER)
        run = asyncio.create_task(client.run())
        await server.wait_for(
            lambda: len(server.requests) == 2 and len(server.instruments(1)) == 170
        )
        print(repr(client))
        await stop(client, run)

    asyncio.run(serving(server, scenario))
    written = everything_at_debug.getvalue()
    captured = capsys.readouterr()
    assert "GET /?version=2&token=***" in written  # websockets did log the request line
    for output in (written, captured.out, captured.err):
        assert TOKEN not in output
