"""The numbers a backtest report draws: the window's candles, drawdown, trade markers, months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.resample import resample
from tradeloop.errors import NotFoundError
from tradeloop.storage.backtests import BacktestRecord
from tradeloop.storage.candles import CandleStore


@dataclass(frozen=True)
class Markers:
    """One marker series: where (IST times, prices) and what it says (hover text)."""

    name: str
    times: list[datetime]
    prices: list[float]
    texts: list[str]


def window_candles(store: CandleStore, record: BacktestRecord) -> pl.DataFrame:
    """The candles the backtest ran on: the spec's symbol, 1m candles over the window in
    `metrics.json`, resampled to the spec's timeframe as `tradeloop backtest` does."""
    spec, window = record.metrics["spec"], record.metrics["window"]
    first = datetime.fromisoformat(window["first_bar"])
    last = datetime.fromisoformat(window["last_bar"])
    # The last bar opens at `last_bar`; its minutes run to the next timeframe boundary.
    minutes = store.load(spec["symbol"], "1m", first, last + timedelta(days=1))
    if minutes.height == 0:
        raise NotFoundError(
            f"backtest {record.id}: no 1m {spec['symbol']} candles are stored from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d} any more; store them again "
            f"(`tradeloop data synth` or `tradeloop data import`) to draw the price chart"
        )
    candles = minutes if spec["timeframe"] == "1m" else resample(minutes, spec["timeframe"])
    return candles.filter(pl.col("ts") <= last)


def with_ist(frame: pl.DataFrame, column: str = "ts") -> pl.DataFrame:
    """`frame` with `column` shown in IST (naive, so charts print the wall-clock time)."""
    return frame.with_columns(
        pl.col(column).dt.convert_time_zone(str(IST)).dt.replace_time_zone(None)
    )


def drawdown_pct(equity: pl.DataFrame, capital: float) -> pl.Series:
    """Drawdown at each point, in percent of the running peak (the peak starts at capital)."""
    peak = equity["equity"].cum_max().clip(lower_bound=capital)
    return ((equity["equity"] - peak) / peak * 100.0).alias("drawdown_pct")


def trade_markers(trades: pl.DataFrame) -> list[Markers]:
    """Entries (long, short) and exits (win, loss), each its own series, IST times, placed on
    the index: an option trade's fill prices are premiums, so its markers sit at the index
    price at entry and exit (`spot_at_entry`, `spot_at_exit`). A `detail` column, when the frame
    has one, is added to each trade's hover text on a line of its own."""
    shown = with_ist(with_ist(trades, "entry_time"), "exit_time")
    if "spot_at_entry" in shown.columns:
        shown = shown.with_columns(
            entry_price=pl.col("spot_at_entry"), exit_price=pl.col("spot_at_exit")
        )
    series: list[Markers] = []
    for direction in ("long", "short"):
        rows = shown.filter(pl.col("direction") == direction)
        series.append(
            Markers(
                f"entry {direction}",
                rows["entry_time"].to_list(),
                rows["entry_price"].to_list(),
                _with_detail(
                    rows, [f"#{trade} {direction} entry" for trade in rows["trade"].to_list()]
                ),
            )
        )
    for outcome, won in (("win", True), ("loss", False)):
        rows = shown.filter((pl.col("net_pnl") > 0) == won)
        texts = [
            f"#{trade} exit ({reason}), net ₹{pnl:,.0f}"
            for trade, reason, pnl in zip(
                rows["trade"].to_list(),
                rows["exit_reason"].to_list(),
                rows["net_pnl"].to_list(),
                strict=True,
            )
        ]
        series.append(
            Markers(
                f"exit {outcome}",
                rows["exit_time"].to_list(),
                rows["exit_price"].to_list(),
                _with_detail(rows, texts),
            )
        )
    return series


def _with_detail(rows: pl.DataFrame, texts: list[str]) -> list[str]:
    if "detail" not in rows.columns:
        return texts
    return [f"{text}<br>{detail}" for text, detail in zip(texts, rows["detail"], strict=True)]


def monthly_returns(equity: pl.DataFrame, capital: float) -> pl.DataFrame:
    """Each IST calendar month's return in percent: its last equity over the previous month's
    last equity (the capital before the first month). Columns: `year`, `month`, `return_pct`."""
    months = (
        with_ist(equity)
        .group_by(pl.col("ts").dt.year().alias("year"), pl.col("ts").dt.month().alias("month"))
        .agg(pl.col("equity").last().alias("end"))
        .sort("year", "month")
    )
    start = months["end"].shift(1).fill_null(capital)
    return months.select(
        "year", "month", ((months["end"] / start - 1.0) * 100.0).alias("return_pct")
    )
