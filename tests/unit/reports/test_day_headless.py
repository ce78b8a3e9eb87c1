"""The trading day's page renders in a real browser: headless chromium draws the price chart
and the P&L chart (an `svg.main-svg` with trace paths), logs no uncaught error, and screenshots
a non-trivial PNG under the data dir."""

from __future__ import annotations

import re
from datetime import date, timedelta

from typer.testing import CliRunner

from support.chromium import CHROMIUM_FLAGS, chromium, run
from support.paper_day import record_paper_day
from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.reports.day_data import day_folder
from tradeloop.settings import load_settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY = date(2026, 1, 6)


def test_the_day_report_draws_its_charts_in_headless_chromium() -> None:
    browser = chromium()
    record_paper_day(DAY)
    settings = load_settings()
    market = generate_market("NIFTY", days=3, start=DAY - timedelta(days=1), seed=5)
    stores.candle_store(settings).write(market.candles)
    written = CliRunner().invoke(app, ["trades", "--day", DAY.isoformat(), "--report"])
    assert written.exit_code == 0, written.output
    url = (day_folder(settings.data_dir, DAY) / "report.html").resolve().as_uri()

    dom = run([browser, *CHROMIUM_FLAGS, "--dump-dom", url])
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    for chart in ("price-NIFTY", "pnl-chart"):
        start = dom.stdout.index(f'id="{chart}"')
        drawn = dom.stdout[start : start + 400_000]
        assert 'class="main-svg"' in drawn[:20_000]
        # trace paths with real geometry: candles, markers, the P&L's steps
        assert len(re.findall(r'<path[^>]*d="M[\d.]+,[\d.]+', drawn)) >= 3

    screenshot = settings.data_dir / "day-report.png"
    shot = run(
        [browser, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1400,1800", url]
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert "Uncaught" not in shot.stderr
    image = screenshot.read_bytes()
    assert image[:8] == PNG_SIGNATURE
    assert len(image) > 50_000  # charts, not a blank page
