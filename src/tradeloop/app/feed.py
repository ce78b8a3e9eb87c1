"""The market feed of a `Settings`: Dhan's live feed, or the local replay of stored candles.

- `feed_instrument`: an index's (exchange segment, security id) on the feed;
- `replay_tape`: the stored 1m candles of some indices on one IST day, as a replay tape (with
  each index's previous close when the previous session is stored);
- `live_feed_client` / `replay_feed_client`: the same `DhanFeedClient`, pointed at Dhan (with
  the credentials from settings, refused clearly without them) or at a replay server;
- `stop_feed`: close a client and end its run, raising the error it failed with.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from tradeloop.app import stores
from tradeloop.clock import Clock
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.market.quotes import LtpCache
from tradeloop.errors import ConfigError, NotFoundError
from tradeloop.settings import Settings

if TYPE_CHECKING:
    from tradeloop.adapters.dhan.feed import DhanFeedClient
    from tradeloop.adapters.dhan.feed_codec import Instrument, Packet
    from tradeloop.adapters.dhan.replay_tape import ReplayTape

PacketHook = Callable[["Packet", datetime], None]


def feed_instrument(symbol: str) -> Instrument:
    """(IDX_I, security id) of an index: what the feed subscribes and sends."""
    from tradeloop.adapters.dhan.feed_codec import ExchangeSegment

    return (int(ExchangeSegment.IDX_I), int(index_instrument(symbol).dhan_security_id))


def replay_tape(settings: Settings, symbols: Sequence[str], day: date) -> ReplayTape:
    """The stored 1m candles of `symbols` on the IST session `day`, as a replay tape.

    Refuses a day that is not a trading day, and a symbol without candles that day, naming
    the commands that store them.
    """
    from tradeloop.adapters.dhan.replay_tape import ReplayTape

    calendar = stores.calendar(settings)
    if not calendar.is_trading_day(day):
        following = calendar.next_trading_day(day)
        raise NotFoundError(
            f"{day} ({day:%A}) is not an NSE trading day, so it has no session to replay; "
            f"pick a trading day, e.g. {following}"
        )
    store = stores.candle_store(settings)
    start = ist_datetime(day, time(0, 0))
    candles = {}
    previous_close = {}
    previous_day = calendar.previous_trading_day(day)
    for symbol in symbols:
        name = index_instrument(symbol).symbol
        try:
            frame = store.load(name, "1m", start, start + timedelta(days=1))
        except NotFoundError:  # nothing of this symbol stored at all
            raise _no_candles(name, day) from None
        if frame.is_empty():
            raise _no_candles(name, day)
        instrument = feed_instrument(name)
        candles[instrument] = frame
        before = store.load(name, "1m", ist_datetime(previous_day, time(0, 0)), start)
        if not before.is_empty():
            previous_close[instrument] = float(before.get_column("close")[-1])
    return ReplayTape.from_candles(candles, previous_close)


def _no_candles(symbol: str, day: date) -> NotFoundError:
    return NotFoundError(
        f"no stored 1m candles of {symbol} on {day} to replay; store them first with "
        f"`tradeloop data synth --symbol {symbol} --start {day} --days 1` (synthetic) or "
        f"`tradeloop data import FILE --symbol {symbol} --interval 1m` (your own), then "
        "check with `tradeloop data ls`"
    )


def live_feed_client(
    settings: Settings,
    *,
    cache: LtpCache,
    clock: Clock,
    on_packet: PacketHook | None = None,
    otherwise: str = "or watch a local replay with --replay URL",
) -> DhanFeedClient:
    """The feed client of Dhan's live market feed, with the credentials from settings;
    `otherwise`: what the user can do instead when they are missing."""
    from tradeloop.adapters.dhan.feed import DhanFeedClient, ReconnectPolicy
    from tradeloop.app.trading import dhan_credentials

    client_id, token = dhan_credentials(settings, "the live Dhan market feed", otherwise)
    return DhanFeedClient(
        client_id=client_id,
        access_token=token,
        cache=cache,
        clock=clock,
        policy=ReconnectPolicy(),
        base_url=settings.dhan_feed_url.rstrip("/"),
        on_packet=on_packet,
    )


def replay_feed_client(
    url: str, *, cache: LtpCache, clock: Clock, on_packet: PacketHook | None = None
) -> DhanFeedClient:
    """The same feed client, pointed at a replay server (`tradeloop feed replay`).

    The replay accepts any token; a random one is sent so no real token goes to it."""
    from tradeloop.adapters.dhan.feed import DhanFeedClient, ReconnectPolicy

    if not url.startswith(("ws://", "wss://")):
        raise ConfigError(
            f"{url!r} is not a WebSocket URL: pass the ws://127.0.0.1:PORT that "
            "`tradeloop feed replay` prints"
        )
    return DhanFeedClient(
        client_id="replay",
        access_token=SecretStr(f"replay-{secrets.token_hex(8)}"),
        cache=cache,
        clock=clock,
        policy=ReconnectPolicy(max_delay=5.0),
        base_url=url.rstrip("/"),
        on_packet=on_packet,
    )


async def stop_feed(client: DhanFeedClient, run: asyncio.Task[None]) -> None:
    """Close `client` and end its `run()` task; the run's own error, if it failed (a
    FeedDisconnectedError or FeedUnavailableError), is raised: it says why the feed stopped."""
    await client.close()
    if not run.done():
        run.cancel()
    done, _ = await asyncio.wait({run}, timeout=5)
    for task in done:
        if not task.cancelled():
            task.result()
