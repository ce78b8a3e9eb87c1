"""Manage a trading day in paper: the deployed strategies, the day's prices over the feed, and
what the day did.

`manage_paper_day` trades the active paper deployments through a `TradingDay` on the configured
ledger. Its minutes come over the wire: the stored candles of the day are served by the local
replay of Dhan's feed (`ReplayFeedServer`, 127.0.0.1) at `speed`, read by the same
`DhanFeedClient` as the live feed, and built into 1m bars (`FeedBars`), each handed to the day
as it closes; the tick loop runs in this call. `source="store"` feeds the stored minutes
directly instead (the same bars, no socket).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import polars as pl

from tradeloop.app import stores
from tradeloop.app.day_agent import AgentOptions, AgentTurn, DayAgent
from tradeloop.app.session import paper_day, replay_minutes
from tradeloop.clock import SystemClock
from tradeloop.domain.market.bars import Bar
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.positions.day import Refusal, TradingDay
from tradeloop.domain.positions.model import TradeRecord
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings
from tradeloop.storage.ledger import Ledger

MinuteSource = Literal["feed", "store"]


@dataclass(frozen=True)
class DaySummary:
    """What a managed day did: its trades (after costs), the refused entries and why."""

    day: date
    strategies: list[tuple[str, str]]
    """(deployment id, strategy name) of each strategy traded."""
    minutes: int
    decisions: int
    trades: list[TradeRecord]
    refusals: list[Refusal]
    agent_turns: tuple[AgentTurn, ...] = ()
    """The agent's turns, when it took part (`AgentOptions`)."""
    mode: str = "paper"
    """paper, or live (a live session with every live switch set)."""

    @property
    def net_pnl(self) -> float:
        return sum(trade.net_pnl for trade in self.trades)

    @property
    def costs(self) -> float:
        return sum(trade.costs for trade in self.trades)


def deployed_strategies(settings: Settings, mode: str = "paper") -> list[tuple[str, StrategySpec]]:
    """(deployment id, spec) of every active deployment in `mode` of an index or future spec."""
    store = stores.deployment_store(settings)
    try:
        deployments = store.deployments()
    finally:
        store.close()
    found = []
    for deployment in deployments:
        if deployment.mode != mode:
            continue
        spec = StrategySpec.model_validate_json(deployment.spec_json)
        if spec.instrument.kind == "option":
            continue  # a session has no option quotes to decide or fill on (docs/trading.md)
        found.append((deployment.id, spec))
    return found


def day_summary(
    day: date,
    chosen: list[tuple[str, StrategySpec]],
    trading: TradingDay,
    ledger: Ledger,
    minutes: int,
    agent_turns: tuple[AgentTurn, ...] = (),
    mode: str = "paper",
) -> DaySummary:
    """What `trading` did on `day`: its strategies' trades in the ledger and its refusals."""
    ids = {strategy_id for strategy_id, _ in chosen}
    return DaySummary(
        day=day,
        strategies=[(strategy_id, spec.name) for strategy_id, spec in chosen],
        minutes=minutes,
        decisions=len(trading.log.decisions),
        trades=[t for t in ledger.trades(day) if t.strategy_id in ids],
        refusals=trading.log.refusals,
        agent_turns=agent_turns,
        mode=mode,
    )


def manage_paper_day(
    settings: Settings,
    day: date,
    *,
    speed: float = 0.0,
    source: MinuteSource = "feed",
    strategies: list[tuple[str, StrategySpec]] | None = None,
    agent: AgentOptions | None = None,
) -> DaySummary:
    """Trade `strategies` (default: the active paper deployments) on `day` in paper; with
    `agent`, the agent takes a turn with the order tools every `agent.every` of the session."""
    chosen = deployed_strategies(settings) if strategies is None else strategies
    if not chosen:
        raise NotFoundError(
            "no active paper deployment of an index or future spec to trade: a research run "
            "deploys the strategies that pass the gate (`tradeloop research run`), see "
            "`tradeloop deployments ls`"
        )
    ledger = stores.ledger(settings)
    progress = stores.session_progress(settings)
    deployments = stores.deployment_store(settings) if agent is not None else None
    try:
        trading, stack = paper_day(settings, day, chosen, ledger, progress)
        day_agent = None
        if agent is not None and deployments is not None:
            day_agent = DayAgent(
                settings, stack, deployments, agent.planner_for, agent.every, agent.max_steps
            )
            trading.after_bar.append(day_agent)
        if source == "store":
            minutes = replay_minutes(settings, trading)
        else:
            minutes = asyncio.run(_over_the_feed(settings, trading, speed))
        turns = tuple(day_agent.turns) if day_agent is not None else ()
        return day_summary(day, chosen, trading, ledger, minutes, turns)
    finally:
        if deployments is not None:
            deployments.close()
        progress.close()
        ledger.close()


async def _over_the_feed(settings: Settings, trading: TradingDay, speed: float) -> int:
    """Serve the day's stored candles as Dhan's feed on loopback, read them with the feed
    client, and hand each closed 1m bar to `trading`; the number of minutes handed."""
    from tradeloop.adapters.dhan.feed_codec import FeedMode
    from tradeloop.adapters.dhan.replay import ReplayFeedServer
    from tradeloop.app.feed import replay_feed_client, replay_tape, stop_feed
    from tradeloop.domain.market.quotes import LtpCache

    feed = DayFeed(settings, trading)
    tape = replay_tape(settings, sorted(feed.instruments.values()), trading.day)
    async with ReplayFeedServer(tape, speed=speed, port=0) as server:
        client = replay_feed_client(
            server.url,
            # A replay is a session in progress whatever the wall clock says.
            cache=LtpCache(stale_after=timedelta(seconds=30), is_market_open=lambda _now: True),
            clock=SystemClock(),
            on_packet=feed.bars.on_packet,
        )
        await client.subscribe(list(feed.instruments), FeedMode.QUOTE)
        run = asyncio.create_task(client.run(), name="manage-feed")
        finished = asyncio.create_task(server.finished.wait())
        try:
            await asyncio.wait({run, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            finished.cancel()
            await stop_feed(client, run)
    feed.bars.flush()
    return feed.handed


class DayFeed:
    """The feed's 1m bars of every index `trading`'s strategies trade, each handed to the day as
    it closes (`handed` counts them)."""

    def __init__(self, settings: Settings, trading: TradingDay) -> None:
        from tradeloop.adapters.dhan.feed_bars import FeedBars
        from tradeloop.app.feed import feed_instrument

        symbols = sorted({strategy.underlying for strategy in trading.strategies})
        self.instruments = {feed_instrument(symbol): symbol for symbol in symbols}
        self.trading = trading
        self.handed = 0
        self.bars = FeedBars(
            self.instruments,
            calendar=stores.calendar(settings),
            price_decimals=2,
            on_bar=self._hand,
        )

    def _hand(self, _instrument: object, bar: Bar) -> None:
        self.trading.on_minute(bar.symbol, minute_frame(bar))
        self.handed += 1


def minute_frame(bar: Bar) -> pl.DataFrame:
    """A closed 1m bar of the feed as a one-row candle frame (what `TradingDay` takes)."""
    return pl.DataFrame(
        {
            "symbol": [bar.symbol],
            "interval": ["1m"],
            "ts": [bar.ts],
            "open": [bar.open],
            "high": [bar.high],
            "low": [bar.low],
            "close": [bar.close],
            "volume": [bar.volume],
            "oi": [bar.oi],
        },
        schema=CANDLE_SCHEMA,
    )
