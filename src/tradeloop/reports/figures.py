"""The report's plotly figures: equity with drawdown, and the price with the trades' markers."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from tradeloop.reports.data import Markers, drawdown_pct, trade_markers, with_ist

# Marker shape and colour by series name: up/down triangles for long/short entries,
# green/red crosses for winning/losing exits.
MARKER_STYLES: dict[str, tuple[str, str]] = {
    "entry long": ("triangle-up", "#1f77b4"),
    "entry short": ("triangle-down", "#9467bd"),
    "exit win": ("x", "#2ca02c"),
    "exit loss": ("x", "#d62728"),
}

# The hours the market is shut, left out of the time axis (IST wall clock): weekends and
# 15:30 to 09:15. Holidays stay as gaps.
CLOSED_MARKET = [{"bounds": ["sat", "mon"]}, {"bounds": [15.5, 9.25], "pattern": "hour"}]


def equity_figure(equity: pl.DataFrame, capital: float) -> go.Figure:
    """Equity (₹) above its drawdown (% of the running peak), sharing the time axis (IST)."""
    shown = with_ist(equity)
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    figure.add_trace(
        go.Scatter(x=shown["ts"].to_list(), y=shown["equity"].to_list(), name="equity"),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=shown["ts"].to_list(),
            y=drawdown_pct(equity, capital).to_list(),
            name="drawdown",
            fill="tozeroy",
            line={"color": "#d62728"},
        ),
        row=2,
        col=1,
    )
    figure.update_yaxes(title_text="equity (₹)", row=1, col=1)
    figure.update_yaxes(title_text="drawdown (%)", row=2, col=1)
    figure.update_layout(title="Equity and drawdown (IST)", height=520, margin={"t": 50})
    figure.update_xaxes(rangebreaks=CLOSED_MARKET)
    return figure


def price_figure(candles: pl.DataFrame, trades: pl.DataFrame, title: str) -> go.Figure:
    """The window's candles with every entry and exit marked (IST)."""
    shown = with_ist(candles)
    figure = go.Figure(
        go.Candlestick(
            x=shown["ts"].to_list(),
            open=shown["open"].to_list(),
            high=shown["high"].to_list(),
            low=shown["low"].to_list(),
            close=shown["close"].to_list(),
            name="price",
        )
    )
    for series in trade_markers(trades):
        figure.add_trace(marker_trace(series))
    figure.update_layout(title=title, height=560, xaxis_rangeslider_visible=False, margin={"t": 50})
    figure.update_xaxes(rangebreaks=CLOSED_MARKET)
    return figure


def marker_trace(series: Markers) -> go.Scatter:
    """One marker series (`data.trade_markers`) as a scatter trace in its MARKER_STYLES shape."""
    symbol, colour = MARKER_STYLES[series.name]
    return go.Scatter(
        x=series.times,
        y=series.prices,
        mode="markers",
        name=series.name,
        text=series.texts,
        hoverinfo="text+x+y",
        marker={"symbol": symbol, "color": colour, "size": 10},
    )
