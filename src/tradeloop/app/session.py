"""A trading day from settings: strategies, their warm-up, the day's minutes, the paper stack.

`paper_day` builds a `TradingDay` of some strategies on a paper stack over `ledger`, with a
manual clock the minutes set; `replay_minutes` feeds it the stored minutes of the day in time
order. The manage flow and `tradeloop parity` run a day through these; the live feed feeds the
same `TradingDay.on_minute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta

import polars as pl

from tradeloop.app import stores
from tradeloop.app.trading import TradingStack, paper_stack
from tradeloop.clock import ManualClock
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.positions.day import Contract, SessionProgress, Strategy, TradingDay
from tradeloop.domain.strategy.session_signals import SessionSignals
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import NotFoundError, SpecError
from tradeloop.settings import Settings
from tradeloop.storage.ledger import Ledger

WARMUP_SESSIONS = 20
"""Sessions of stored minutes before the day that each strategy's indicators warm up on."""


def day_minutes(settings: Settings, symbol: str, day: date) -> pl.DataFrame:
    """The stored 1m candles of `symbol` on the IST session `day`; a day that is not a
    trading day, or has no candles, is refused naming what to do."""
    calendar = stores.calendar(settings)
    name = index_instrument(symbol).symbol
    if not calendar.is_trading_day(day):
        raise NotFoundError(
            f"{day} ({day:%A}) is not an NSE trading day: pick a trading day, e.g. "
            f"{calendar.next_trading_day(day)}"
        )
    start = ist_datetime(day, time(0, 0))
    try:
        minutes = stores.candle_store(settings).load(name, "1m", start, start + timedelta(days=1))
    except NotFoundError:
        minutes = pl.DataFrame()
    if minutes.is_empty():
        raise NotFoundError(
            f"no stored 1m candles of {name} on {day} to trade: `tradeloop data synth --symbol "
            f"{name}` or `tradeloop data import FILE --symbol {name} --interval 1m`, then "
            "`tradeloop data ls`"
        )
    return minutes


def warmup_minutes(settings: Settings, symbol: str, day: date) -> pl.DataFrame:
    """The stored 1m candles of `symbol` over the `WARMUP_SESSIONS` sessions before `day`."""
    calendar = stores.calendar(settings)
    first = day
    for _ in range(WARMUP_SESSIONS):
        first = calendar.previous_trading_day(first)
    name = index_instrument(symbol).symbol
    return stores.candle_store(settings).load(
        name, "1m", ist_datetime(first, time(0, 0)), ist_datetime(day, time(0, 0))
    )


def index_contract(settings: Settings, symbol: str, day: date) -> Contract:
    """What a paper session trades for an index spec: the index's own prices as its future
    proxy (the feed's security id), with the future's lot and tick on `day`."""
    name = index_instrument(symbol).symbol
    facts = stores.contract_table(settings).facts(name, ContractKind.FUT, day)
    return Contract(
        symbol=f"{name}-FUT",
        security_id=index_instrument(name).dhan_security_id,
        lot_size=facts.lot_size,
        tick_size=facts.tick_size,
    )


def paper_day(
    settings: Settings,
    day: date,
    strategies: Sequence[tuple[str, StrategySpec]],
    ledger: Ledger,
    progress: SessionProgress | None = None,
) -> tuple[TradingDay, TradingStack]:
    """A paper `TradingDay` of `strategies` ((strategy id, spec) pairs: the id is the
    deployment's) on a paper stack over `ledger`, its clock at the day's open. With
    `progress`, a day processed before resumes after its last recorded bar, once the position
    manager has reconciled the ledger with the paper book."""
    for symbol in sorted({spec.symbol for _, spec in strategies}):
        day_minutes(settings, symbol, day)  # a day with nothing to trade is refused first
    clock = session_clock(day)
    stack = paper_stack(settings, ledger, clock)
    return trading_day(settings, day, strategies, stack, clock, progress), stack


def session_clock(day: date) -> ManualClock:
    """A session's clock: at the day's open, then at each bar's time as the day trades it."""
    return ManualClock(ist_datetime(day, time(9, 15)))


def trading_day(
    settings: Settings,
    day: date,
    strategies: Sequence[tuple[str, StrategySpec]],
    stack: TradingStack,
    clock: ManualClock,
    progress: SessionProgress | None = None,
) -> TradingDay:
    """A `TradingDay` of `strategies` on `stack` (paper: its broker matches each bar; live: the
    broker fills, read by the position manager's sync)."""
    members = []
    for strategy_id, spec in strategies:
        if spec.instrument.kind == "option":
            raise SpecError(
                f"spec {spec.name!r} buys options: a paper session trades index and futures "
                "specs (it has no option quotes to fill on); backtest it with `tradeloop "
                "backtest`"
            )
        members.append(
            Strategy(
                strategy_id,
                spec.name,
                spec.symbol,
                SessionSignals(spec, warmup_minutes(settings, spec.symbol, day)),
                index_contract(settings, spec.symbol, day),
            )
        )
    broker = stack.broker if isinstance(stack.broker, PaperBroker) else None
    trading = TradingDay(day, members, stack.positions, stack.risk, clock, broker, progress)
    if trading.resumed_after is not None:
        clock.set(trading.resumed_after)
        stack.positions.start(strict=False)
    return trading


def replay_minutes(settings: Settings, trading: TradingDay) -> int:
    """Feed `trading` the stored minutes of its day of every index its strategies trade, in
    time order; returns how many minutes were fed."""
    symbols = sorted({strategy.underlying for strategy in trading.strategies})
    frames = [day_minutes(settings, symbol, trading.day) for symbol in symbols]
    if not frames:
        return 0
    minutes = pl.concat(frames, how="vertical").sort(["ts", "symbol"])
    for index in range(minutes.height):
        minute = minutes.slice(index, 1)
        trading.on_minute(minute["symbol"][0], minute)
    return minutes.height


def last_decision_day(settings: Settings, spec: StrategySpec, sessions: int = 20) -> date | None:
    """The last stored session, among the last `sessions`, on which `spec` decides an entry
    (the backtest's signals over them and their warm-up); None when it decides none."""
    from tradeloop.domain.market.calendar import to_ist
    from tradeloop.domain.market.resample import resample
    from tradeloop.domain.strategy.compiler import compile_spec

    name = index_instrument(spec.symbol).symbol
    store = stores.candle_store(settings)
    series = next((s for s in store.series() if s.symbol == name and s.interval == "1m"), None)
    if series is None:
        return None
    calendar = stores.calendar(settings)
    first = to_ist(series.last).date()
    for _ in range(sessions + WARMUP_SESSIONS):
        first = calendar.previous_trading_day(first)
    minutes = store.load(name, "1m", ist_datetime(first, time(0, 0)))
    bars = minutes if spec.timeframe == "1m" else resample(minutes, spec.timeframe)
    entries = compile_spec(spec, bars).entry.nonzero()[0]
    if len(entries) == 0:
        return None
    return to_ist(bars["ts"][int(entries[-1])]).date()
