"""A trading day as one PNG (matplotlib, Agg): a panel per chart of the page (an index's 1m
closes with the trades' entries and exits, or an option's fills at their premiums) above the
cumulative net P&L after charges, all on the session's IST clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.dates import DateFormatter

from tradeloop.reports.data import trade_markers, with_ist
from tradeloop.reports.day_data import (
    TradingDayRecord,
    charts,
    cumulative_pnl,
    day_folder,
    is_index_chart,
    trades_frame,
)
from tradeloop.reports.figures import MARKER_STYLES
from tradeloop.reports.png import SHAPES, plt

DAY_PNG = "day.png"


def write_png(record: TradingDayRecord, data_dir: Path) -> Path:
    """Write `day.png` beside the day's `report.html` (`day_folder`); its path."""
    folder = day_folder(data_dir, record.day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DAY_PNG
    shown = charts(record.trades)
    figure, panels = plt.subplots(
        len(shown) + 1,
        1,
        figsize=(11, 3.6 * len(shown) + 3),
        gridspec_kw={"height_ratios": [3] * len(shown) + [2]},
        sharex=True,
        squeeze=False,
    )
    try:
        for chart, axes in zip(shown, panels[:-1, 0], strict=True):
            _chart_panel(axes, chart, record)
        _pnl_panel(panels[-1, 0], record)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path


def _chart_panel(axes: plt.Axes, chart: str, record: TradingDayRecord) -> None:
    candles = record.candles.get(chart)
    if candles is not None:
        closes = with_ist(candles)
        axes.plot(closes["ts"].to_list(), closes["close"].to_list(), color="#555", linewidth=0.8)
    for series in trade_markers(trades_frame(record, chart)):
        if not series.times:
            continue
        shape, colour = MARKER_STYLES[series.name]
        times = np.array(series.times, dtype="datetime64[us]")
        axes.scatter(
            times, series.prices, marker=SHAPES[shape], color=colour, label=series.name, s=36
        )
    if not is_index_chart(chart):
        what, label = "option fills at their premiums", "premium"
    elif candles is None:
        what, label = "trades (no 1m candles stored for the day)", "price"
    else:
        what, label = "1m closes and trades", "price"
    axes.set_title(f"{chart} on {record.day}: {what} (IST)")
    axes.set_ylabel(label)
    axes.legend(loc="best")


def _pnl_panel(axes: plt.Axes, record: TradingDayRecord) -> None:
    steps = with_ist(cumulative_pnl(record))
    axes.step(
        np.array(steps["ts"].to_list(), dtype="datetime64[us]"),
        steps["net_pnl"].to_list(),
        where="post",
        color="#1f77b4",
    )
    axes.axhline(0.0, color="#999", linewidth=0.6)
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M"))  # one day: the clock is enough
    axes.set_title("net P&L after charges (₹, IST)")
    axes.set_ylabel("net P&L (₹)")
