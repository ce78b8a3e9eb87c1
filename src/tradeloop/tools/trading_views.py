"""The trading desk and the read-only trading tools: what the order tools share, and views.

`TradingDesk` bundles the order path with the stores prices are read from; `last_price` is
the last stored 1m close and whether it is stale. The read-only tools (`positions`,
`market_snapshot`) write nothing and send nothing; the order tools are in `trading.py`, which
registers all of them (`trading_tools`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import polars as pl
from pydantic import JsonValue

from tradeloop.agent import ToolResult
from tradeloop.app.trading import TradingStack
from tradeloop.domain.deploy import DeploymentStore
from tradeloop.domain.market import session
from tradeloop.domain.market.calendar import ist_datetime, to_ist
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.positions.day import Contract
from tradeloop.domain.positions.model import Position
from tradeloop.errors import NotFoundError
from tradeloop.storage.candles import CandleStore
from tradeloop.storage.volatility import VolatilityStore

ONE_MINUTE = timedelta(minutes=1)


@dataclass
class TradingDesk:
    """What the trading tools share: the order path and the stores they read prices from.

    Attributes:
        stack: the order path (`app.trading.trading_stack`); its mode is the only mode traded.
        deployments: the deployments; only an ACTIVE one of the stack's mode may be traded.
        candles: stored 1m candles (prices, levels, regime).
        volatility: stored daily implied volatility.
        contract_for: what an index's orders trade on a day (`app.session.index_contract`).
        warmup_sessions: sessions of stored minutes the spec's indicators warm up on.
        regime_sessions: sessions the snapshot's regime is classified on.
        stale_after: a last price older than this in session time is stale.
    """

    stack: TradingStack
    deployments: DeploymentStore
    candles: CandleStore
    volatility: VolatilityStore
    contract_for: Callable[[str, date], Contract]
    warmup_sessions: int
    regime_sessions: int
    stale_after: timedelta

    def now(self) -> datetime:
        return self.stack.clock.now()

    def sessions_before(self, day: date, count: int) -> date:
        first = day
        for _ in range(count):
            first = self.stack.calendar.previous_trading_day(first)
        return first

    def minutes(self, symbol: str, first: date, now: datetime) -> pl.DataFrame:
        """Stored 1m candles of `symbol` from the session `first` to the bars closed by `now`."""
        try:
            frame = self.candles.load(symbol, "1m", ist_datetime(first, time(0, 0)), now)
        except NotFoundError:
            return pl.DataFrame()
        return frame.filter(pl.col("ts") <= now - ONE_MINUTE)

    def session_minutes_since(self, then: datetime, now: datetime) -> float:
        """Minutes of trading session between `then` and `now` (closed minutes do not count)."""
        calendar = self.stack.calendar
        total = 0.0
        day = to_ist(then).date()
        last = to_ist(now).date()
        while day <= last:
            if calendar.is_trading_day(day):
                start = max(ist_datetime(day, session.OPEN), then)
                end = min(ist_datetime(day, session.CLOSE), now)
                total += max((end - start).total_seconds() / 60, 0.0)
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class LastPrice:
    price: float
    at: datetime
    """When the bar that set it closed."""
    stale: bool


def last_price(desk: TradingDesk, symbol: str, now: datetime) -> LastPrice | None:
    """The last stored 1m close of `symbol` closed by `now`, its time and its stale flag."""
    day = to_ist(now).date()
    frame = desk.minutes(symbol, desk.sessions_before(day, 5), now)
    if frame.is_empty():
        return None
    row = frame.row(frame.height - 1, named=True)
    closed_at: datetime = row["ts"] + ONE_MINUTE
    stale = desk.session_minutes_since(closed_at, now) > desk.stale_after.total_seconds() / 60
    return LastPrice(float(row["close"]), closed_at, stale)


def refused(reason: str) -> ToolResult:
    return ToolResult.failure("Refused", reason)


def position_view(position: Position, mark: float | None) -> dict[str, JsonValue]:
    unrealised = None
    if position.entry_price is not None and mark is not None:
        unrealised = round(
            position.net_quantity * (mark - position.entry_price) - position.entry_costs, 2
        )
    return {
        "position_id": position.position_id,
        "deployment": position.strategy_id,
        "side": "long" if position.direction > 0 else "short",
        "state": position.state.value,
        "quantity": position.open_quantity or position.quantity,
        "entry": position.entry_price,
        "stop": position.stop,
        "target": position.target,
        "unrealised_pnl": unrealised,
    }


def positions(desk: TradingDesk) -> ToolResult:
    now = desk.now()
    rows: list[JsonValue] = []
    for position in desk.stack.positions.store.positions(active_only=True):
        price = last_price(desk, position.symbol.split("-")[0], now)
        rows.append(position_view(position, None if price is None else price.price))
    return ToolResult.ok({"positions": rows})


def market_snapshot(desk: TradingDesk, symbol: str) -> ToolResult:
    name = index_instrument(symbol).symbol
    now = desk.now()
    day = to_ist(now).date()
    price = last_price(desk, name, now)
    if price is None:
        return refused(f"no stored 1m candles of {name} before {to_ist(now):%Y-%m-%d %H:%M}")
    history = desk.minutes(name, desk.sessions_before(day, desk.regime_sessions), now)
    dated = history.with_columns(pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.date())
    last_day = dated["ts"][-1]
    before = history.filter(dated["ts"] < last_day)
    change = None
    if before.height:
        previous = float(before["close"][-1])
        change = round((price.price / previous - 1) * 100, 2)
    return ToolResult.ok(
        {
            "symbol": name,
            "ltp": price.price,
            "at": f"{to_ist(price.at):%Y-%m-%d %H:%M} IST",
            "day_change_pct": change,
            "regime": classify_regime(history),
            "atm_iv": _implied_volatility(desk, name, day),
            "stale": price.stale,
        }
    )


def _implied_volatility(desk: TradingDesk, symbol: str, day: date) -> float | None:
    try:
        frame = desk.volatility.load(symbol, end=day + timedelta(days=1))
    except NotFoundError:
        return None
    return None if frame.is_empty() else round(float(frame["iv"][-1]), 4)
