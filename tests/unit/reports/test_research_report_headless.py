"""A research run's page renders in a real browser: headless chromium draws the score
histogram (an `svg.main-svg` with bar paths and the gate line), logs no uncaught error, and
screenshots a non-trivial PNG under the data dir."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from support.chromium import CHROMIUM_FLAGS, chromium, run
from support.research_runs import FIRST_RUN, remember_two_runs
from tradeloop.cli import app
from tradeloop.reports.research import CHART_ID, research_folder
from tradeloop.settings import load_settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_research_report_draws_its_histogram_in_headless_chromium() -> None:
    browser = chromium()
    settings = load_settings()
    remember_two_runs(settings.data_dir)
    written = CliRunner().invoke(app, ["research", "report", FIRST_RUN])
    assert written.exit_code == 0, written.output
    folder = research_folder(settings.data_dir, FIRST_RUN)
    url = (folder / "report.html").resolve().as_uri()

    dom = run([browser, *CHROMIUM_FLAGS, "--dump-dom", url])
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    start = dom.stdout.index(f'id="{CHART_ID}"')
    drawn = dom.stdout[start : start + 400_000]
    assert 'class="main-svg"' in drawn[:20_000]
    # bars with real geometry: a path "M x,y V ..." per bar of each histogram trace
    assert len(re.findall(r'<path[^>]*d="M[\d.]+,[\d.]+', drawn)) >= 5
    # the gate line: a dashed vertical shape (x the same at both ends), and its label
    line = re.search(r'class="shape-group".*?d="M([\d.]+),[\d.]+L([\d.]+),[\d.]+"', drawn)
    assert line and line[1] == line[2], "no vertical gate line drawn"
    assert "stroke-dasharray" in drawn[line.end() : line.end() + 300]
    assert "score gate: min_score 0.500" in drawn

    screenshot = settings.data_dir / "research-report.png"
    shot = run(
        [browser, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1400,1600", url]
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert "Uncaught" not in shot.stderr
    image = screenshot.read_bytes()
    assert image[:8] == PNG_SIGNATURE
    assert len(image) > 50_000  # a chart and a table, not a blank page
