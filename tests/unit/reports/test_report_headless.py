"""The report renders in a real browser: headless chromium draws both plotly charts (an
`svg.main-svg` with trace paths), logs no uncaught error, and screenshots a non-trivial PNG."""

from __future__ import annotations

import re

from support.chromium import CHROMIUM_FLAGS, chromium, run
from support.saved_backtest import SavedBacktest, run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_report_draws_its_charts_in_headless_chromium(saved_backtest: SavedBacktest) -> None:
    browser = chromium()
    written = run_cli(saved_backtest.env, "report", saved_backtest.backtest_id)
    assert written.returncode == 0, written.stderr
    page = saved_backtest.archive.get(saved_backtest.backtest_id).folder / "report.html"
    url = page.resolve().as_uri()

    dom = run([browser, *CHROMIUM_FLAGS, "--dump-dom", url])
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    for chart in ("equity-chart", "price-chart"):
        start = dom.stdout.index(f'id="{chart}"')
        drawn = dom.stdout[start : start + 400_000]
        assert 'class="main-svg"' in drawn[:20_000]
        # trace paths with real geometry: a line or candle path "M x,y L ..." per trace
        assert len(re.findall(r'<path[^>]*d="M[\d.]+,[\d.]+', drawn)) >= 3

    screenshot = saved_backtest.data_dir / "report.png"
    shot = run(
        [browser, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1400,1800", url]
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert "Uncaught" not in shot.stderr
    image = screenshot.read_bytes()
    assert image[:8] == PNG_SIGNATURE
    assert len(image) > 50_000  # charts, not a blank page
