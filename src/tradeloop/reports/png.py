"""A saved backtest's charts as PNG files (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: a headless backend, whatever the environment says

import matplotlib.pyplot as plt  # after use("Agg"): pyplot picks its backend on import
import numpy as np
import polars as pl

from tradeloop.reports.data import drawdown_pct, trade_markers, with_ist
from tradeloop.reports.figures import MARKER_STYLES
from tradeloop.storage.backtests import BacktestRecord

EQUITY_PNG = "equity.png"
PRICE_PNG = "price.png"
# matplotlib's marker codes for the plotly shapes of MARKER_STYLES
SHAPES = {"triangle-up": "^", "triangle-down": "v", "x": "x"}


def write_pngs(record: BacktestRecord, candles: pl.DataFrame, folder: Path) -> list[Path]:
    """Write `equity.png` (equity above drawdown) and `price.png` (closes with the trades'
    entries and exits) into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [_equity_png(record, folder / EQUITY_PNG), _price_png(record, candles, folder)]


def _equity_png(record: BacktestRecord, path: Path) -> Path:
    capital = float(record.metrics["result"]["metrics"]["start_equity"])
    shown = with_ist(record.equity)
    drawdown = drawdown_pct(record.equity, capital).to_list()
    figure, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(11, 6), gridspec_kw={"height_ratios": [7, 3]}
    )
    try:
        times = shown["ts"].to_list()
        top.plot(times, shown["equity"].to_list(), color="#1f77b4")
        top.set_ylabel("equity (₹)")
        top.set_title(f"{record.metrics['spec']['name']}: equity and drawdown (IST)")
        bottom.fill_between(times, drawdown, 0.0, color="#d62728", alpha=0.4)
        bottom.set_ylabel("drawdown (%)")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path


def _price_png(record: BacktestRecord, candles: pl.DataFrame, folder: Path) -> Path:
    path = folder / PRICE_PNG
    spec = record.metrics["spec"]
    shown = with_ist(candles)
    figure, axes = plt.subplots(figsize=(11, 6))
    try:
        axes.plot(shown["ts"].to_list(), shown["close"].to_list(), color="#555", linewidth=0.8)
        for series in trade_markers(record.trades):
            shape, colour = MARKER_STYLES[series.name]
            times = np.array(series.times, dtype="datetime64[us]")
            axes.scatter(
                times, series.prices, marker=SHAPES[shape], color=colour, label=series.name, s=36
            )
        axes.set_title(f"{spec['symbol']} {spec['timeframe']} closes and trades (IST)")
        axes.set_ylabel("price")
        axes.legend(loc="best")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path
