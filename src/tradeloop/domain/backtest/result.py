"""`BacktestResult`: the metrics, the trade list and the equity curve of one backtest.

The trade list and the equity curves are polars frames built on first access from the kernel's
arrays, so a research batch of thousands of specs pays only for the frames it looks at.
Timestamps are UTC (`Datetime("us", "UTC")`); show them in IST with `to_ist`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from tradeloop.domain.backtest import layout
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.metrics import Metrics, build_metrics
from tradeloop.domain.exits import BACKTEST_EXIT_REASONS

_EXIT_REASON_LABELS = np.array([reason.value for reason in BACKTEST_EXIT_REASONS])
ExitReasonType = pl.Enum(_EXIT_REASON_LABELS.tolist())

# Trade-list columns and the kernel fields they come from, in display order.
_PRICE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("entry_price", layout.T_ENTRY_PRICE),
    ("exit_price", layout.T_EXIT_PRICE),
)
_MONEY_COLUMNS: tuple[tuple[str, int], ...] = (
    ("initial_stop", layout.T_INITIAL_STOP),
    ("target", layout.T_TARGET),
    ("risk_per_unit", layout.T_RISK),
    ("gross_pnl", layout.T_GROSS),
    ("brokerage", layout.T_BROKERAGE),
    ("stt", layout.T_STT),
    ("exchange", layout.T_EXCHANGE),
    ("sebi", layout.T_SEBI),
    ("stamp_duty", layout.T_STAMP),
    ("gst", layout.T_GST),
    ("costs", layout.T_COSTS),
    ("slippage", layout.T_SLIPPAGE),
    ("net_pnl", layout.T_NET),
    ("r_multiple", layout.T_R),
)
COST_COLUMNS: tuple[str, ...] = ("brokerage", "stt", "exchange", "sebi", "stamp_duty", "gst")
_TRADE_COLUMNS: tuple[str, ...] = (
    "trade",
    "direction",
    "signal_time",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    "exit_reason",
    "bars_held",
    "initial_stop",
    "target",
    "risk_per_unit",
    "gross_pnl",
    *COST_COLUMNS,
    "costs",
    "slippage",
    "net_pnl",
    "r_multiple",
    "signal_bar",
    "entry_bar",
    "exit_bar",
)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One backtest of one spec over bars `[start, end)` of a candle frame."""

    spec_id: str
    direction: int
    config: BacktestConfig
    cost_table_version: str
    start: int
    end: int
    records: np.ndarray
    """The kernel's trade records (rows of `layout.N_TRADE_FIELDS`)."""
    metric_vector: np.ndarray
    """The compiled metrics (`metrics.M_*`), wrapped into `metrics` on first access."""
    stats: np.ndarray
    """What the simulation measured itself (`layout.K_*`)."""
    timestamps: np.ndarray
    """int64 ns UTC bar open times of the whole candle frame (bar indices are absolute)."""
    sessions: np.ndarray
    session_equity: np.ndarray
    """Equity at the last bar close of each session in the range."""
    bar_equity: np.ndarray | None
    """Equity at every bar close in the range, or None when the batch did not keep it."""
    legs: pl.DataFrame | None = None
    """An option backtest's contract of each trade (`options.LEG_SCHEMA`): the trade list
    shows it after the trade number; its prices are then premiums. None for an index."""
    notes: tuple[str, ...] = ()
    """Why signals were skipped beyond the counts of `metrics` (an option backtest: the
    expiry rule's reasons for days without a contract)."""

    @cached_property
    def metrics(self) -> Metrics:
        """Every metric of docs/backtesting.md."""
        return build_metrics(
            self.metric_vector, self.stats, bars=self.end - self.start, capital=self.config.capital
        )

    @cached_property
    def trades(self) -> pl.DataFrame:
        """The trade list: one row per closed trade, with its cost breakdown and R multiple;
        an option trade's contract, lots, IV and delta at entry, and premiums as its prices.

        `target` is null when the strategy has no take profit. Every P&L column is in rupees for
        the whole quantity; `slippage` is informational (it is already in the prices).
        """
        records = self.records
        bars = {
            name: records[:, field].astype(np.int64)
            for name, field in (
                ("signal_bar", layout.T_SIGNAL_BAR),
                ("entry_bar", layout.T_ENTRY_BAR),
                ("exit_bar", layout.T_EXIT_BAR),
            )
        }
        # Every column from numpy, then one pass of casts: the per-column polars calls of a
        # column-by-column build cost more than the kernel that found the trades.
        columns: dict[str, Any] = {
            "trade": np.arange(1, len(records) + 1, dtype=np.int64),
            "direction": np.full(len(records), "long" if self.direction > 0 else "short"),
            "signal_time": self.timestamps[bars["signal_bar"]] // 1_000,
            "entry_time": self.timestamps[bars["entry_bar"]] // 1_000,
            "exit_time": self.timestamps[bars["exit_bar"]] // 1_000,
            "exit_reason": _EXIT_REASON_LABELS[records[:, layout.T_REASON].astype(np.int64)],
            "quantity": records[:, layout.T_QUANTITY].astype(np.int64),
            "bars_held": records[:, layout.T_BARS_HELD].astype(np.int64),
        }
        for name, field in _PRICE_COLUMNS + _MONEY_COLUMNS:
            columns[name] = np.ascontiguousarray(records[:, field])
        columns |= bars
        frame = pl.DataFrame({name: columns[name] for name in _TRADE_COLUMNS}).with_columns(
            pl.col("signal_time", "entry_time", "exit_time").cast(pl.Datetime("us", "UTC")),
            pl.col("direction").cast(pl.String),
            pl.col("exit_reason").cast(pl.String).cast(ExitReasonType),
            pl.col("target").fill_nan(None),
        )
        if self.legs is None:
            return frame
        return pl.concat([frame.select("trade"), self.legs, frame.drop("trade")], how="horizontal")

    @cached_property
    def equity(self) -> pl.DataFrame:
        """Equity at every bar close (`ts` is the bar's open time); daily when not kept."""
        if self.bar_equity is None:
            return self.daily_equity
        return pl.DataFrame(
            {"ts": _utc(self.timestamps[self.start : self.end]), "equity": self.bar_equity}
        )

    @cached_property
    def daily_equity(self) -> pl.DataFrame:
        """Equity at each session's last bar close (`ts` is that bar's open time)."""
        sessions = self.sessions[self.start : self.end]
        last = np.flatnonzero(np.diff(sessions) != 0)
        last_bars = np.append(last, len(sessions) - 1) + self.start
        return pl.DataFrame({"ts": _utc(self.timestamps[last_bars]), "equity": self.session_equity})

    def summary(self) -> dict[str, Any]:
        """The metrics and the run's identity, ready for JSON."""
        return {
            "spec_id": self.spec_id,
            "cost_table_version": self.cost_table_version,
            "config": self.config.model_dump(mode="json"),
            "metrics": self.metrics.model_dump(mode="json"),
            "notes": list(self.notes),
        }


def _utc(nanoseconds: np.ndarray) -> pl.Series:
    series = pl.Series(np.asarray(nanoseconds, dtype=np.int64)).cast(pl.Datetime("ns"))
    return series.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
