"""The report renders in a real browser: headless chromium draws both plotly charts (an
`svg.main-svg` with trace paths), logs no uncaught error, and screenshots a non-trivial PNG."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from support.saved_backtest import SavedBacktest, run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not installed: apt-get install chromium")


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(arguments, capture_output=True, text=True, timeout=60, check=False)


def test_the_report_draws_its_charts_in_headless_chromium(saved_backtest: SavedBacktest) -> None:
    chromium = _chromium()
    written = run_cli(saved_backtest.env, "report", saved_backtest.backtest_id)
    assert written.returncode == 0, written.stderr
    page = saved_backtest.archive.get(saved_backtest.backtest_id).folder / "report.html"
    url = page.resolve().as_uri()

    dom = _run([chromium, *CHROMIUM_FLAGS, "--dump-dom", url])
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    for chart in ("equity-chart", "price-chart"):
        start = dom.stdout.index(f'id="{chart}"')
        drawn = dom.stdout[start : start + 400_000]
        assert 'class="main-svg"' in drawn[:20_000]
        # trace paths with real geometry: a line or candle path "M x,y L ..." per trace
        assert len(re.findall(r'<path[^>]*d="M[\d.]+,[\d.]+', drawn)) >= 3

    screenshot = saved_backtest.data_dir / "report.png"
    shot = _run(
        [chromium, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1400,1800", url]
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert "Uncaught" not in shot.stderr
    image = screenshot.read_bytes()
    assert image[:8] == PNG_SIGNATURE
    assert len(image) > 50_000  # charts, not a blank page
