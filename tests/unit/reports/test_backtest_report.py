"""The HTML report and the PNGs of a backtest saved by the real commands: self-contained, with
the equity, drawdown and trade-marker traces, the monthly returns and every score-card number
explained."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from support.saved_backtest import SavedBacktest
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.reports.backtest import capital_of, render_html
from tradeloop.reports.data import monthly_returns, trade_markers, window_candles
from tradeloop.reports.figures import equity_figure, price_figure
from tradeloop.reports.png import write_pngs
from tradeloop.reports.scorecard import score_lines, significance_lines
from tradeloop.storage.backtests import BacktestArchive, BacktestRecord
from tradeloop.storage.candles import ParquetCandleStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def record(saved_backtest: SavedBacktest) -> BacktestRecord:
    return saved_backtest.archive.get(saved_backtest.backtest_id)


@pytest.fixture(scope="module")
def candles(saved_backtest: SavedBacktest, record: BacktestRecord) -> pl.DataFrame:
    store = ParquetCandleStore(saved_backtest.data_dir / "candles", NSECalendar.default(None))
    return window_candles(store, record)


@pytest.fixture(scope="module")
def page(record: BacktestRecord, candles: pl.DataFrame) -> str:
    return render_html(record, candles, ScoringConfig())


def test_the_window_candles_are_the_bars_the_backtest_ran_on(
    record: BacktestRecord, candles: pl.DataFrame
) -> None:
    window = record.metrics["window"]
    assert candles.height == window["bars"]
    assert candles["ts"][0].isoformat() == window["first_bar"]
    assert candles["ts"][-1].isoformat() == window["last_bar"]
    assert set(candles["interval"].to_list()) == {"5m"}


def test_the_page_carries_plotly_inline_and_loads_nothing_from_the_network(page: str) -> None:
    # plotly.js itself names its CDN (for map data, unused here): what matters is no script tag
    # loads anything.
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "plotly.js v" in page  # the library itself is in the page
    assert page.count("Plotly.newPlot") == 2


def test_the_equity_figure_has_the_equity_and_its_drawdown(record: BacktestRecord) -> None:
    figure = equity_figure(record.equity, capital_of(record))
    equity, drawdown = figure.data
    assert (equity.name, drawdown.name) == ("equity", "drawdown")
    assert len(equity.y) == record.equity.height
    assert max(drawdown.y) <= 0.0
    worst = -min(drawdown.y)
    assert worst == pytest.approx(record.metrics["result"]["metrics"]["max_drawdown_pct"])


def test_the_price_figure_marks_every_entry_and_exit(
    record: BacktestRecord, candles: pl.DataFrame
) -> None:
    figure = price_figure(candles, record.trades, "NIFTY 5m")
    traces = {trace.name: trace for trace in figure.data}
    assert set(traces) == {"price", "entry long", "entry short", "exit win", "exit loss"}
    trades = record.trades
    longs = trades.filter(pl.col("direction") == "long").height
    wins = trades.filter(pl.col("net_pnl") > 0).height
    assert len(traces["entry long"].x) == longs
    assert len(traces["entry short"].x) == trades.height - longs
    assert len(traces["exit win"].x) == wins
    assert len(traces["exit loss"].x) == trades.height - wins
    assert len(traces["price"].x) == candles.height


def test_the_page_holds_both_charts_traces(page: str) -> None:
    for name in ("equity", "drawdown", "price", "entry long", "exit win", "exit loss"):
        assert f'"name":"{name}"' in page


def test_the_monthly_returns_compound_to_the_whole_return(
    record: BacktestRecord, page: str
) -> None:
    months = monthly_returns(record.equity, capital_of(record))
    assert months.select("year", "month").rows() == [(2025, 1), (2025, 2), (2025, 3)]
    growth = math.prod(1 + value / 100 for value in months["return_pct"].to_list())
    metrics = record.metrics["result"]["metrics"]
    assert growth == pytest.approx(metrics["end_equity"] / metrics["start_equity"])
    assert "id='monthly-returns'" in page
    for year, month, value in months.iter_rows():
        assert f"{year}-{month:02d}</td>" in page and f"{value:+.2f} %" in page


def test_every_score_card_number_is_shown_with_its_meaning(
    record: BacktestRecord, page: str
) -> None:
    scoring = ScoringConfig()
    lines = score_lines(record.metrics["score"], scoring) + significance_lines(scoring)
    labels = [line.label for line in lines]
    assert labels == [
        "score", "win-rate score", "profit-factor score", "drawdown share", "min_trades",
        "min_score", "score gate", "min_lockbox_days", "min_lockbox_trades",
        "min_probabilistic_sharpe", "min_deflated_sharpe",
    ]  # fmt: skip
    for line in lines:
        assert line.meaning.endswith(".") and len(line.meaning) > 30
        row = f"<td class='text'>{html.escape(line.label)}</td><td>{html.escape(line.value)}</td>"
        assert row + f"<td class='text'>{html.escape(line.meaning)}</td>" in page
    score = record.metrics["score"]
    assert f"<td>{score['score']:.3f}</td>" in page
    for reason in score["reasons"]:
        assert f"<li>{html.escape(reason)}</li>" in page


def test_the_pngs_are_written_into_the_folder_given(
    record: BacktestRecord, candles: pl.DataFrame, tmp_path: Path
) -> None:
    paths = write_pngs(record, candles, tmp_path / "charts")
    assert [path.name for path in paths] == ["equity.png", "price.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 10_000  # a chart, not an empty canvas


def test_an_option_trades_markers_sit_on_the_index_not_on_the_premium() -> None:
    at = datetime(2025, 1, 2, 4, 0, tzinfo=UTC)
    trades = pl.DataFrame(
        {
            "trade": [1],
            "direction": ["long"],
            "entry_time": [at],
            "exit_time": [at],
            "entry_price": [189.5],  # the premium paid
            "exit_price": [150.0],
            "spot_at_entry": [23_950.0],
            "spot_at_exit": [24_010.0],
            "exit_reason": ["stop"],
            "net_pnl": [-2_500.0],
        }
    )
    series = {item.name: item for item in trade_markers(trades)}
    assert series["entry long"].prices == [23_950.0]
    assert series["exit loss"].prices == [24_010.0]
    assert [time.isoformat() for time in series["exit loss"].times] == ["2025-01-02T09:30:00"]


def test_the_page_says_whether_it_shows_the_whole_window_or_the_out_of_sample_part(
    record: BacktestRecord, candles: pl.DataFrame, tmp_path: Path
) -> None:
    assert "one backtest of the whole window (in sample)" in render_html(
        record, candles, ScoringConfig()
    )
    folder = tmp_path / record.entry.spec_id / record.entry.stamp
    shutil.copytree(record.folder, folder)
    document = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    document["walk_forward"] = [{"fold": 1}, {"fold": 2}]
    (folder / "metrics.json").write_text(json.dumps(document), encoding="utf-8")
    walked = BacktestArchive(tmp_path).get(record.id)
    page = render_html(walked, candles, ScoringConfig())
    assert "walk-forward&#x27;s (2 folds) continuous out-of-sample backtest" in page
