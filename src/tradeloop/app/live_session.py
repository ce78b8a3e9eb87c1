"""Today's session over Dhan's live market feed: the deployed strategies of the mode the
settings allow (paper by default; live only with every live switch set), traded as the day
happens.

The same `TradingDay` as a replayed day, on the same order path: the feed's ticks are built into
1m bars (closed on time, a minute plus a grace after they end, when the day is today), each
handed to the day as it closes, and the session's clock follows the bars. In paper the paper
broker matches each bar; live, Dhan fills the orders and the position manager reads them on
each bar (`sync`). The day is recorded bar by bar, so a session killed and started again
resumes after its last processed bar, reconciled with the broker first.

The session ends when the exchange's last minute has been traded: the feed has carried the
day's 15:29 minute and then stayed quiet for `quiet` (or the wall clock is past the close of a
session that is today). Warm-up is the stored minutes of the sessions before: run the ingest
flow after each close.
"""

from __future__ import annotations

import asyncio
import time as wall
from datetime import date, datetime, timedelta

from tradeloop.app import stores
from tradeloop.app.feed import live_feed_client, stop_feed
from tradeloop.app.manage import DayFeed, DaySummary, day_summary, deployed_strategies
from tradeloop.app.session import session_clock, trading_day
from tradeloop.app.trading import mode_guard, trading_stack
from tradeloop.clock import SystemClock, utc_now
from tradeloop.domain.market.calendar import ist_datetime, to_ist
from tradeloop.domain.market.session import CLOSE
from tradeloop.domain.positions.day import TradingDay
from tradeloop.errors import NotFoundError, UserError
from tradeloop.settings import Settings

QUIET = timedelta(seconds=5)
"""After the session's last minute, this long without a packet ends the session."""


def manage_live_session(
    settings: Settings, day: date | None = None, *, quiet: timedelta = QUIET
) -> DaySummary:
    """Trade `day` (default: today, IST) over Dhan's live feed in the mode the settings allow."""
    today = to_ist(utc_now()).date()
    day = day or today
    calendar = stores.calendar(settings)
    if not calendar.is_trading_day(day):
        raise UserError(f"{day} is not an NSE trading day: there is no session to trade")
    mode = mode_guard(settings).mode.value  # live only with every switch; refused otherwise
    chosen = deployed_strategies(settings, mode)
    if not chosen:
        raise NotFoundError(
            f"no active {mode} deployment of an index or future spec to trade: research deploys "
            "to paper what passes the gate, `tradeloop deployments promote ID --live` moves one "
            "to live; see `tradeloop deployments ls`"
        )
    ledger = stores.ledger(settings)
    progress = stores.session_progress(settings)
    try:
        clock = session_clock(day)
        stack = trading_stack(settings, clock=clock, ledger=ledger)
        trading = trading_day(settings, day, chosen, stack, clock, progress)
        minutes = asyncio.run(_over_the_live_feed(settings, trading, day == today, quiet))
        return day_summary(day, chosen, trading, ledger, minutes, mode=mode)
    finally:
        progress.close()
        ledger.close()


async def _over_the_live_feed(
    settings: Settings, trading: TradingDay, is_today: bool, quiet: timedelta
) -> int:
    from tradeloop.adapters.dhan.feed_codec import FeedMode, Packet
    from tradeloop.domain.market.quotes import LtpCache

    feed = DayFeed(settings, trading)
    calendar = stores.calendar(settings)
    close = ist_datetime(trading.day, CLOSE)
    last_minute = int(close.timestamp()) - 60
    latest_trade = 0  # exchange time (epoch s) of the last packet
    heard = wall.monotonic()

    def on_packet(packet: Packet, received_at: datetime) -> None:
        nonlocal latest_trade, heard
        heard = wall.monotonic()
        latest_trade = max(latest_trade, getattr(packet, "last_trade_time", 0))
        feed.bars.on_packet(packet, received_at)

    client = live_feed_client(
        settings,
        cache=LtpCache(
            stale_after=timedelta(seconds=30),
            is_market_open=calendar.is_open if is_today else (lambda _now: True),
        ),
        clock=SystemClock(),
        on_packet=on_packet,
        otherwise="or replay a stored day in paper with `tradeloop manage --date YYYY-MM-DD`",
    )
    await client.subscribe(list(feed.instruments), FeedMode.QUOTE)
    run = asyncio.create_task(client.run(), name="live-session-feed")
    try:
        while not run.done():
            await asyncio.wait({run}, timeout=1.0)
            now = utc_now()
            if is_today:
                feed.bars.on_time(now)  # a bar closes on time, not on the next minute's first tick
                if now >= close + timedelta(minutes=1):
                    break
            if latest_trade >= last_minute and wall.monotonic() - heard >= quiet.total_seconds():
                break  # the last minute was traded and the feed went quiet: the day is over
    finally:
        await stop_feed(client, run)  # a feed error says why the day stopped
    feed.bars.flush()
    return feed.handed
