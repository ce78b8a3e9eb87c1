"""A trading day (IST) as one self-contained HTML page, and as one PNG (`day_png.write_png`).

`render_html` lays out the headline numbers (trades, wins and losses, net P&L after charges,
the charges, the mode), for each index traded its 1m candles with every entry and exit marked
(hover: strategy, side, quantity, prices, reason, net ₹), option trades on a premium chart of
their own, the cumulative net P&L through the session, and the table of trades. A day whose
candles are not stored still shows its trades and P&L, and says how to get the price line.
The plotly library is inlined in the page (no CDN: it opens offline).
"""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go

from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.money import rupees
from tradeloop.domain.positions.model import TradeRecord
from tradeloop.reports.data import trade_markers, with_ist
from tradeloop.reports.day_data import (
    TradingDayRecord,
    chart_of,
    charts,
    cumulative_pnl,
    day_folder,
    is_index_chart,
    numbered,
    trades_frame,
)
from tradeloop.reports.figures import CLOSED_MARKET, marker_trace
from tradeloop.reports.page import page

REPORT_FILE = "report.html"


def chart_id(chart: str) -> str:
    """The HTML id of a chart's div: `price-NIFTY`, `premium-NIFTY-24000-CE`."""
    kind = "price" if is_index_chart(chart) else "premium"
    return f"{kind}-{'-'.join(chart.replace('-', ' ').split())}"


def no_candles_note(chart: str, record: TradingDayRecord) -> str:
    """Why `chart` has no price line on the day, and how to get one, in one sentence."""
    day = record.day.isoformat()
    return (
        f"No 1m {chart} candles of {day} are stored (a live session does not store the "
        "minutes it trades on), so the markers stand alone: store the day with `tradeloop "
        f"data fetch --symbol {chart} --from {day} --to {day}` (or the nightly-ingest flow) and "
        f"write this report again with `tradeloop trades --day {day} --report`."
    )


def price_day_figure(chart: str, record: TradingDayRecord) -> go.Figure:
    """The day's 1m candles of an index chart (when stored) with its trades' entries and
    exits; for an option chart, its fills at their premiums."""
    figure = go.Figure()
    candles = record.candles.get(chart)
    if candles is not None:
        shown = with_ist(candles)
        figure.add_trace(
            go.Candlestick(
                x=shown["ts"].to_list(),
                open=shown["open"].to_list(),
                high=shown["high"].to_list(),
                low=shown["low"].to_list(),
                close=shown["close"].to_list(),
                name=chart,
            )
        )
    for series in trade_markers(trades_frame(record, chart)):
        if series.times:
            figure.add_trace(marker_trace(series))
    what = "1m candles and trades" if is_index_chart(chart) else "fills at their premiums"
    figure.update_layout(
        title=f"{chart} on {record.day}: {what} (IST)",
        height=520,
        xaxis_rangeslider_visible=False,
        margin={"t": 50},
        yaxis_title="price" if is_index_chart(chart) else "premium",
    )
    figure.update_xaxes(rangebreaks=CLOSED_MARKET)
    return figure


def pnl_figure(record: TradingDayRecord) -> go.Figure:
    """The day's cumulative net P&L after charges (₹), a step at each exit (IST)."""
    steps = with_ist(cumulative_pnl(record))
    figure = go.Figure(
        go.Scatter(
            x=steps["ts"].to_list(),
            y=steps["net_pnl"].to_list(),
            mode="lines+markers",
            line_shape="hv",
            name="net P&L",
            hovertemplate="%{x|%H:%M} IST: ₹%{y:,.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Net P&L after charges through {record.day} (IST)",
        height=360,
        margin={"t": 50},
        yaxis_title="net P&L (₹)",
    )
    return figure


def render_html(record: TradingDayRecord) -> str:
    """The whole page of a day with trades."""
    title = f"{record.mode.capitalize()} trading day {record.day}"
    parts = [f"<h1>{html.escape(title)}</h1>", _headline(record)]
    first = True
    for chart in charts(record.trades):
        parts.append(f"<h2>{html.escape(chart)}</h2>")
        parts.append(f"<p class='note'>{html.escape(_chart_note(chart, record))}</p>")
        parts.append(
            price_day_figure(chart, record).to_html(
                full_html=False, include_plotlyjs=first, div_id=chart_id(chart)
            )
        )
        first = False
    parts += [
        "<h2>Net P&amp;L through the day</h2>",
        pnl_figure(record).to_html(full_html=False, include_plotlyjs=first, div_id="pnl-chart"),
        "<h2>Trades</h2>",
        _trades_table(record),
    ]
    return page(title, "\n".join(parts))


def write_html(record: TradingDayRecord, data_dir: Path) -> Path:
    """Write the day's `report.html` under `<data_dir>/reports/days/<day>/`; its path."""
    folder = day_folder(data_dir, record.day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    path.write_text(render_html(record), encoding="utf-8")
    return path


def _chart_note(chart: str, record: TradingDayRecord) -> str:
    markers = "Entries: ▲ long, ▼ short. Exits: green × a win, red × a loss (net of charges)."
    if not is_index_chart(chart):
        return (
            f"{markers} These are option trades: their fills are premiums, and the ledger keeps "
            "no index price at their entry or exit, so they are drawn on their own premium axis."
        )
    if chart not in record.candles:
        return f"{markers} {no_candles_note(chart, record)}"
    if any(trade.symbol != chart for trade in record.trades if chart_of(trade.symbol) == chart):
        return (
            f"{markers} Future trades are drawn on the index: a paper session trades the "
            "index's own prices as its future; a live future's fills differ by its basis."
        )
    return markers


def _headline(record: TradingDayRecord) -> str:
    losses = len(record.trades) - record.wins
    rows = [
        ("mode", record.mode),
        ("trades", f"{len(record.trades)}"),
        ("wins / losses", f"{record.wins} / {losses}"),
        ("net P&L after charges", rupees(record.net_pnl)),
        ("charges", rupees(record.costs)),
    ]
    cells = "".join(
        f"<tr><td class='text'>{label}</td><td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    return f"<table id='headline'>{cells}</table>"


def _trades_table(record: TradingDayRecord) -> str:
    headers = ["#", "strategy", "symbol", "side", "qty", "entry (IST)", "entry", "exit (IST)"]
    headers += ["exit", "reason", "charges", "net"]
    text = {"strategy", "symbol", "side", "reason"}
    head = "".join(
        f"<th class='{'text' if name in text else ''}'>{html.escape(name)}</th>" for name in headers
    )
    body = "".join(_trade_row(number, trade, record) for number, trade in numbered(record))
    return f"<table id='trades'><tr>{head}</tr>{body}</table>"


def _trade_row(number: int, trade: TradeRecord, record: TradingDayRecord) -> str:
    cells = [
        ("", str(number)),
        ("text", record.name_of(trade.strategy_id)),
        ("text", trade.symbol),
        ("text", "long" if trade.direction > 0 else "short"),
        ("", f"{trade.quantity:,}"),
        ("", f"{to_ist(trade.entry_time):%H:%M:%S}"),
        ("", f"{trade.entry_price:,.2f}"),
        ("", f"{to_ist(trade.exit_time):%H:%M:%S}"),
        ("", f"{trade.exit_price:,.2f}"),
        ("text", trade.exit_reason.value),
        ("", rupees(trade.costs)),
        ("gain" if trade.net_pnl > 0 else "loss", rupees(trade.net_pnl)),
    ]
    return (
        "<tr>"
        + "".join(f"<td class='{kind}'>{html.escape(value)}</td>" for kind, value in cells)
        + "</tr>"
    )
