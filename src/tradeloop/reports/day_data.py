"""The numbers a trading day's report draws: the day's trades as a frame, where each is charted,
the minutes of the indices they traded, and the cumulative net P&L through the session.

A trade of an index or of its future (`NIFTY-FUT`: a paper session trades the index's own
prices as its future) is charted on the index's 1m candles. An option trade's fills are
premiums, and the ledger keeps no index price for them (a backtest's trades carry
`spot_at_entry`), so it is charted on a premium axis of its own, without candles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

from tradeloop.domain.market.calendar import ist_datetime, to_ist
from tradeloop.domain.market.contracts import ContractKind, kind_of_symbol, underlying_of_symbol
from tradeloop.domain.market.instruments import INDICES
from tradeloop.domain.market.session import CLOSE, OPEN
from tradeloop.domain.money import rupees
from tradeloop.domain.positions.model import TradeRecord
from tradeloop.errors import NotFoundError
from tradeloop.storage.candles import CandleStore

# The trades as `data.trade_markers` reads them, and what the page adds (`detail`: hover text).
TRADE_SCHEMA: dict[str, PolarsDataType] = {
    "trade": pl.Int64,
    "strategy": pl.String,
    "symbol": pl.String,
    "direction": pl.String,
    "quantity": pl.Int64,
    "entry_time": pl.Datetime("us", "UTC"),
    "entry_price": pl.Float64,
    "exit_time": pl.Datetime("us", "UTC"),
    "exit_price": pl.Float64,
    "exit_reason": pl.String,
    "gross_pnl": pl.Float64,
    "costs": pl.Float64,
    "net_pnl": pl.Float64,
    "detail": pl.String,
}


@dataclass(frozen=True)
class TradingDayRecord:
    """One trading day as the report shows it: the ledger's trades of the day, the names of
    their strategies (deployment id → strategy name), the trading mode, and the 1m candles of
    each index charted (missing when none are stored for the day)."""

    day: date
    mode: str
    trades: list[TradeRecord]
    names: dict[str, str] = field(default_factory=dict)
    candles: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def net_pnl(self) -> float:
        return sum(trade.net_pnl for trade in self.trades)

    @property
    def costs(self) -> float:
        return sum(trade.costs for trade in self.trades)

    @property
    def wins(self) -> int:
        return sum(1 for trade in self.trades if trade.net_pnl > 0)

    def name_of(self, strategy_id: str) -> str:
        return self.names.get(strategy_id, strategy_id)


def day_folder(data_dir: Path, day: date) -> Path:
    """Where a day's report files go: `<data_dir>/reports/days/<YYYY-MM-DD>`."""
    return data_dir / "reports" / "days" / day.isoformat()


def chart_of(symbol: str) -> str:
    """The chart a trade of `symbol` is drawn on: the index for the index and its future
    (`NIFTY-FUT` → `NIFTY`), the symbol's own premium chart for anything else."""
    underlying = underlying_of_symbol(symbol)
    if underlying in INDICES and kind_of_symbol(symbol) in (None, ContractKind.FUT):
        return underlying
    return symbol


def is_index_chart(chart: str) -> bool:
    """Whether `chart` (see `chart_of`) draws an index's candles, not an option's premiums."""
    return chart in INDICES


def charts(trades: list[TradeRecord]) -> list[str]:
    """The charts the day's trades are drawn on, indices first, each once."""
    names = {chart_of(trade.symbol) for trade in trades}
    return sorted(names, key=lambda name: (not is_index_chart(name), name))


def load_candles(
    store: CandleStore, trades: list[TradeRecord], day: date
) -> dict[str, pl.DataFrame]:
    """The stored 1m candles of `day` (IST) of each index the trades are charted on; an index
    with none stored that day (or none at all) is left out."""
    start = ist_datetime(day, time(0, 0))
    found = {}
    for chart in charts(trades):
        if not is_index_chart(chart):
            continue
        try:
            minutes = store.load(chart, "1m", start, start + timedelta(days=1))
        except NotFoundError:  # the store has never held this index
            continue
        if minutes.height:
            found[chart] = minutes
    return found


def numbered(record: TradingDayRecord) -> list[tuple[int, TradeRecord]]:
    """The day's trades in entry order, numbered from 1 (the page's table and hover texts)."""
    ordered = sorted(record.trades, key=lambda trade: (trade.entry_time, trade.position_id))
    return list(enumerate(ordered, start=1))


def trades_frame(record: TradingDayRecord, chart: str | None = None) -> pl.DataFrame:
    """The day's trades (those drawn on `chart`, or all) as `data.trade_markers` reads them,
    numbered as `numbered` does, with the hover `detail` of each."""
    rows = [
        _row(number, trade, record.name_of(trade.strategy_id))
        for number, trade in numbered(record)
        if chart is None or chart_of(trade.symbol) == chart
    ]
    return pl.DataFrame(rows, schema=TRADE_SCHEMA, orient="row")


def _row(number: int, trade: TradeRecord, name: str) -> tuple[object, ...]:
    side = "long" if trade.direction > 0 else "short"
    detail = (
        f"{name} {side} {trade.quantity} {trade.symbol}<br>"
        f"entry {to_ist(trade.entry_time):%H:%M} at {trade.entry_price:,.2f}, "
        f"exit {to_ist(trade.exit_time):%H:%M} at {trade.exit_price:,.2f} "
        f"({trade.exit_reason.value})<br>net {rupees(trade.net_pnl)}"
    )
    return (
        number,
        name,
        trade.symbol,
        side,
        trade.quantity,
        trade.entry_time,
        trade.entry_price,
        trade.exit_time,
        trade.exit_price,
        trade.exit_reason.value,
        trade.gross_pnl,
        trade.costs,
        trade.net_pnl,
        detail,
    )


def cumulative_pnl(record: TradingDayRecord) -> pl.DataFrame:
    """The day's net P&L after charges so far (₹), as a step series: 0 at the open, a step at
    each exit (trades closing the same minute count together), held to the close; `ts` in UTC.
    """
    open_at, close_at = ist_datetime(record.day, OPEN), ist_datetime(record.day, CLOSE)
    exits = sorted((trade.exit_time, trade.net_pnl) for trade in record.trades)
    times: list[datetime] = [min([open_at, *(at for at, _ in exits)])]
    totals = [0.0]
    running = 0.0
    for at, pnl in exits:
        running += pnl
        if at == times[-1]:
            totals[-1] = running
        else:
            times.append(at)
            totals.append(running)
    if times[-1] < close_at:
        times.append(close_at)
        totals.append(running)
    return pl.DataFrame(
        {"ts": times, "net_pnl": totals},
        schema={"ts": pl.Datetime("us", "UTC"), "net_pnl": pl.Float64},
    )
