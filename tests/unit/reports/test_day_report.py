"""A trading day's report: the page (headline numbers, a chart per traded index with every entry
and exit, option fills on their own axis, the cumulative net P&L, the trade table), day.png, and
`tradeloop trades --day D --report`."""

from __future__ import annotations

import re
import webbrowser
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from support.paper_day import record_paper_day
from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.model import TradeRecord
from tradeloop.errors import UserError
from tradeloop.reports.day import chart_id, pnl_figure, price_day_figure, render_html
from tradeloop.reports.day_data import TradingDayRecord, cumulative_pnl, day_folder
from tradeloop.reports.day_png import write_png
from tradeloop.settings import load_settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY = date(2025, 3, 4)
OPTION = "NIFTY 06 MAR 22000 CE"


def _minutes() -> pl.DataFrame:
    market = generate_market("NIFTY", days=3, start=date(2025, 3, 3), seed=3).candles
    return market.filter(pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.date() == DAY)


def _trade(
    number: int,
    symbol: str,
    direction: int,
    entry: tuple[int, int],
    exit_: tuple[int, int],
    prices: tuple[float, float],
    net: float,
    reason: ExitReason,
) -> TradeRecord:
    return TradeRecord(
        position_id=f"tl-{number}",
        strategy_id="dep-a-1",
        symbol=symbol,
        security_id="13",
        trading_day=DAY,
        direction=direction,
        quantity=75,
        entry_time=datetime(2025, 3, 4, *entry, tzinfo=UTC),
        entry_price=prices[0],
        exit_time=datetime(2025, 3, 4, *exit_, tzinfo=UTC),
        exit_price=prices[1],
        exit_reason=reason,
        gross_pnl=net + 60.0,
        costs=60.0,
        net_pnl=net,
        r_multiple=net / 1000.0,
    )


def _record(candles: bool = True) -> TradingDayRecord:
    minutes = _minutes()
    close = minutes["close"]
    target, stop, square_off = ExitReason.TARGET, ExitReason.STOP, ExitReason.SQUARE_OFF
    # close[n] is the close of 09:15 IST + n minutes: 04:00 UTC (09:30 IST) is close[15]
    trades = [
        _trade(1, "NIFTY-FUT", 1, (4, 0), (5, 0), (close[15], close[75]), 1200.0, target),
        _trade(2, "NIFTY-FUT", -1, (6, 0), (7, 0), (close[135], close[195]), -300.0, stop),
        _trade(3, OPTION, 1, (6, 30), (8, 0), (120.5, 140.0), 900.0, square_off),
    ]
    return TradingDayRecord(
        DAY, "paper", trades, {"dep-a-1": "nifty_orb_5m"}, {"NIFTY": minutes} if candles else {}
    )


def test_the_page_has_the_headline_a_chart_per_instrument_the_pnl_and_each_trade() -> None:
    page = render_html(_record())

    assert not re.search(r"<script[^>]*\bsrc=", page) and page.count("plotly.js v") == 1
    assert page.count("Plotly.newPlot") == 3
    for div in ("price-NIFTY", "premium-NIFTY-06-MAR-22000-CE", "pnl-chart"):
        assert f'id="{div}"' in page
    headline = page[page.index("id='headline'") : page.index("</table>")]
    for cell in ("paper", "<td>3</td>", "2 / 1", "₹1,800.00", "₹180.00"):
        assert cell in headline
    rows = re.findall(r"<tr><td class=''>(\d)</td>(.*?)</tr>", page[page.index("id='trades'") :])
    assert [number for number, _ in rows] == ["1", "2", "3"]
    assert "nifty_orb_5m" in rows[0][1] and "09:30:00" in rows[0][1] and "₹1,200.00" in rows[0][1]
    assert "short" in rows[1][1] and "-₹300.00" in rows[1][1] and "stop" in rows[1][1]
    assert OPTION in rows[2][1] and "120.50" in rows[2][1]
    assert "drawn on their own premium axis" in page


def test_the_price_chart_marks_each_entry_and_exit_with_what_it_was() -> None:
    record = _record()
    figure = price_day_figure("NIFTY", record)
    traces = {trace.name: trace for trace in figure.data}

    assert traces["NIFTY"].type == "candlestick" and len(traces["NIFTY"].x) == 375
    assert list(traces["entry long"].y) == [record.trades[0].entry_price]
    assert list(traces["exit loss"].y) == [record.trades[1].exit_price]
    hover = traces["exit win"].text[0]
    for part in ("#1", "nifty_orb_5m long 75 NIFTY-FUT", "(target)", "net ₹1,200.00"):
        assert part in hover
    assert str(traces["entry long"].x[0]) == "2025-03-04 09:30:00"  # IST on the axis
    # the option's fills stay off the index chart, at their premiums on their own
    premiums = {trace.name: trace for trace in price_day_figure(OPTION, record).data}
    assert list(premiums["entry long"].y) == [120.5] and OPTION not in traces


def test_the_pnl_steps_at_each_exit_from_zero_at_the_open_to_the_close() -> None:
    steps = cumulative_pnl(_record())
    assert steps["net_pnl"].to_list() == [0.0, 1200.0, 900.0, 1800.0, 1800.0]
    hours = [f"{moment:%H:%M}" for moment in steps["ts"].to_list()]
    assert hours == ["03:45", "05:00", "07:00", "08:00", "10:00"]  # 09:15 … 15:30 IST
    trace = pnl_figure(_record()).data[0]
    assert trace.line.shape == "hv" and list(trace.y) == steps["net_pnl"].to_list()


def test_a_day_without_candles_still_shows_its_trades_and_says_how_to_get_the_price() -> None:
    page = render_html(_record(candles=False))
    assert 'id="price-NIFTY"' in page and 'id="pnl-chart"' in page
    assert "No 1m NIFTY candles of 2025-03-04 are stored" in page
    assert "tradeloop data fetch --symbol NIFTY --from 2025-03-04 --to 2025-03-04" in page
    assert "candlestick" not in page.split('id="price-NIFTY"')[1].split("</script>")[0]


def test_the_png_has_the_price_with_trades_and_the_pnl(tmp_path: Path) -> None:
    path = write_png(_record(), tmp_path)
    assert path == day_folder(tmp_path, DAY) / "day.png"
    image = path.read_bytes()
    assert image[:8] == PNG_SIGNATURE and len(image) > 20_000


def test_chart_ids_are_html_ids() -> None:
    assert (
        chart_id("NIFTY") == "price-NIFTY" and chart_id(OPTION) == "premium-NIFTY-06-MAR-22000-CE"
    )


# -- tradeloop trades --day D --report ---------------------------------------------------------

LEDGER_DAY = date(2026, 1, 6)


def _store_minutes(day: date) -> None:
    market = generate_market("NIFTY", days=3, start=day - timedelta(days=1), seed=5)
    stores.candle_store(load_settings()).write(market.candles)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def test_trades_report_writes_the_page_and_the_png_and_prints_their_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = record_paper_day(LEDGER_DAY)
    _store_minutes(LEDGER_DAY)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    outcome = _cli("trades", "--day", LEDGER_DAY.isoformat(), "--report", "--png", "--open")

    assert outcome.exit_code == 0, outcome.output
    folder = day_folder(load_settings().data_dir, LEDGER_DAY)
    flat = "".join(outcome.output.split())
    for name in ("report.html", "day.png"):
        assert "".join(f"wrote {folder / name}".split()) in flat
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="price-NIFTY"' in page and 'id="pnl-chart"' in page
    assert "Paper trading day 2026-01-06" in page and entry.strategy_id in page
    assert "No 1m NIFTY candles" not in page  # the stored minutes are drawn
    assert (folder / "day.png").read_bytes()[:8] == PNG_SIGNATURE
    assert opened == [(folder / "report.html").resolve().as_uri()]


def test_trades_report_without_stored_minutes_says_how_to_get_the_price_line() -> None:
    record_paper_day(LEDGER_DAY)

    outcome = _cli("trades", "--day", LEDGER_DAY.isoformat(), "--report")

    assert outcome.exit_code == 0, outcome.output
    assert "No 1m NIFTY candles of 2026-01-06 are stored" in " ".join(outcome.output.split())
    page = day_folder(load_settings().data_dir, LEDGER_DAY) / "report.html"
    assert "tradeloop data fetch --symbol NIFTY" in page.read_text(encoding="utf-8")


def test_trades_report_of_a_day_without_trades_writes_nothing_and_says_so() -> None:
    record_paper_day(LEDGER_DAY)
    quiet = LEDGER_DAY + timedelta(days=1)

    outcome = _cli("trades", "--day", quiet.isoformat(), "--report", "--png")

    assert outcome.exit_code == 0, outcome.output
    assert "no trades on 2026-01-07: no report written" in outcome.output
    assert not day_folder(load_settings().data_dir, quiet).exists()


def test_trades_report_refuses_a_bad_date_and_options_without_report() -> None:
    bad = _cli("trades", "--day", "2026-13-40", "--report")
    assert isinstance(bad.exception, UserError) and "'2026-13-40'" in str(bad.exception)
    alone = _cli("trades", "--png")
    assert isinstance(alone.exception, UserError) and "--report" in str(alone.exception)
    both = _cli("trades", "--report", "--json")
    assert isinstance(both.exception, UserError) and "--json" in str(both.exception)
