"""A saved backtest as one self-contained HTML page, and as PNG charts.

`render_html` lays out the equity and drawdown, the window's price with the trades marked, the
monthly returns, the metrics and the score card with what each number means. The plotly
library is inlined in the page (no CDN: it opens offline). `write_pngs` draws the equity with
its drawdown and the price with the markers as PNGs (matplotlib, Agg) for a terminal or an
artifact.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import polars as pl

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.reports.data import monthly_returns
from tradeloop.reports.figures import equity_figure, price_figure
from tradeloop.reports.page import NumberKind, page, shown
from tradeloop.reports.scorecard import GateLine, score_lines, significance_lines
from tradeloop.storage.backtests import BacktestRecord

REPORT_FILE = "report.html"
# (metric key, label, how it is shown)
_METRICS: tuple[tuple[str, str, NumberKind], ...] = (
    ("trades", "trades", "count"),
    ("win_rate_pct", "win rate", "pct"),
    ("net_pnl", "net P&L", "rupees"),
    ("costs", "costs", "rupees"),
    ("return_pct", "return", "pct"),
    ("cagr_pct", "CAGR", "pct"),
    ("max_drawdown_pct", "max drawdown", "pct"),
    ("profit_factor", "profit factor", "number"),
    ("expectancy", "expectancy a trade", "rupees"),
    ("expectancy_r", "expectancy (R)", "number"),
    ("sharpe", "Sharpe (annualised)", "number"),
    ("sortino", "Sortino (annualised)", "number"),
    ("exposure_pct", "exposure", "pct"),
    ("average_bars_held", "average bars held", "number"),
)


def capital_of(record: BacktestRecord) -> float:
    """The backtest's starting capital (₹), from its metrics."""
    return float(record.metrics["result"]["metrics"]["start_equity"])


def render_html(record: BacktestRecord, candles: pl.DataFrame, scoring: ScoringConfig) -> str:
    """The whole report page for `record`, on the window's `candles` (see `window_candles`)."""
    spec, window = record.metrics["spec"], record.metrics["window"]
    title = f"{spec['name']}: {spec['symbol']} {spec['timeframe']} {spec['direction']}"
    capital = capital_of(record)
    equity_html = equity_figure(record.equity, capital).to_html(
        full_html=False, include_plotlyjs=True, div_id="equity-chart"
    )
    price_html = price_figure(candles, record.trades, f"{spec['symbol']} {spec['timeframe']}")
    price_div = price_html.to_html(full_html=False, include_plotlyjs=False, div_id="price-chart")
    score = record.metrics["score"]
    reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in score["reasons"])
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>backtest {html.escape(record.id)}; spec id {html.escape(record.entry.spec_id)}; "
        f"{window['bars']} bars from {html.escape(window['first_bar'])} to "
        f"{html.escape(window['last_bar'])} (UTC); charts in IST.</p>",
        f"<p id='scope'>{html.escape(_scope(record.metrics.get('walk_forward')))}</p>",
        "<h2>Equity and drawdown</h2>",
        equity_html,
        "<h2>Price and trades</h2>",
        "<p>Entries: ▲ long, ▼ short. Exits: green × a win, red × a loss (net of costs).</p>",
        price_div,
        "<h2>Monthly returns</h2>",
        _monthly_table(monthly_returns(record.equity, capital)),
        "<h2>Metrics</h2>",
        _metrics_table(record.metrics["result"]["metrics"]),
        "<h2>Score card</h2>",
        _gate_table(score_lines(score, scoring), "score-card"),
        f"<ul id='score-reasons'>{reasons}</ul>" if reasons else "",
        "<h3>The significance gate (research runs only)</h3>",
        "<p>A research run backtests what passes the score gate again on its lockbox and "
        "passes it only with these; a single backtest is not measured against them.</p>",
        _gate_table(significance_lines(scoring), "significance-gate"),
    ]
    return page(title, "\n".join(parts))


def _scope(folds: list[Any] | None) -> str:
    """What the equity, the trades and the score cover: the whole window, or the walk-forward's
    out-of-sample backtest (docs/backtesting.md, "Walk-forward")."""
    if not folds:
        return (
            "The equity, the trades and the score are one backtest of the whole window (in "
            "sample): `tradeloop backtest --walk-forward N` scores out of sample."
        )
    return (
        f"The equity, the trades and the score are the walk-forward's ({len(folds)} folds) "
        "continuous out-of-sample backtest, which never includes the first block of sessions; "
        "the price chart shows the whole window."
    )


def write_html(record: BacktestRecord, candles: pl.DataFrame, scoring: ScoringConfig) -> Path:
    """Write `report.html` into the backtest's folder and return its path."""
    path = record.folder / REPORT_FILE
    path.write_text(render_html(record, candles, scoring), encoding="utf-8")
    return path


def _monthly_table(months: pl.DataFrame) -> str:
    rows = "".join(
        f"<tr><td class='text'>{year}-{month:02d}</td>"
        f"<td class='{'gain' if value >= 0 else 'loss'}'>{value:+.2f} %</td></tr>"
        for year, month, value in months.iter_rows()
    )
    return (
        "<table id='monthly-returns'><tr><th class='text'>month (IST)</th>"
        f"<th>return</th></tr>{rows}</table>"
    )


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td class='text'>{label}</td><td>{shown(metrics.get(key), kind)}</td></tr>"
        for key, label, kind in _METRICS
    )
    return f"<table id='metrics'>{rows}</table>"


def _gate_table(lines: list[GateLine], table_id: str) -> str:
    rows = "".join(
        f"<tr><td class='text'>{html.escape(line.label)}</td><td>{html.escape(line.value)}</td>"
        f"<td class='text'>{html.escape(line.meaning)}</td></tr>"
        for line in lines
    )
    return (
        f"<table id='{table_id}'><tr><th class='text'>number</th><th>value</th>"
        f"<th class='text'>what it means</th></tr>{rows}</table>"
    )
