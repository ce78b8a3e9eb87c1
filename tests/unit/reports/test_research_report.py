"""A research run's report: counts, the leaderboard table, the score histogram with the gate
line (plotly) and the same histogram as a PNG; NaN and infinite scores counted, not drawn."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.reports.research import (
    CHART_ID,
    ResearchRun,
    render_html,
    research_folder,
    research_run,
    score_histogram,
    write_html,
)
from tradeloop.reports.research_png import write_scores_png
from tradeloop.storage.memory import StrategyRecord

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # 15:30 IST
SCORING = ScoringConfig(min_score=0.5)


def _record(spec_id: str, score: float, *, passed: bool = False) -> StrategyRecord:
    reasons = () if passed else (f"score {score:.3f} is below min_score = 0.500",)
    return StrategyRecord(
        run_id="run-1",
        evaluated_at=T0 + timedelta(seconds=len(spec_id)),
        spec_id=spec_id,
        name=f"spec <{spec_id}>",
        symbol="NIFTY",
        timeframe="5m",
        regime="trending-up/normal-vol",
        window_start=T0 - timedelta(days=300),
        window_end=T0,
        score=score,
        passed=passed,
        reasons=reasons,
        metrics={
            "trades": 40.0,
            "win_rate_pct": 52.5,
            "profit_factor": 1.4,
            "sharpe": 1.1,
            "max_drawdown_pct": 7.25,
            "net_pnl": 1000.0,
        },
        spec_json="{}",
    )


def _run(*records: StrategyRecord, deployed: int | None = 1) -> ResearchRun:
    return research_run("run-1", records, deployed=deployed)


def _records() -> list[StrategyRecord]:
    return [
        _record("a", 0.72, passed=True),
        _record("b", 0.61),
        _record("c", 0.31),
        _record("d", 0.0),
        _record("e", math.nan),
    ]


def test_the_page_counts_the_run_and_lists_its_leaderboard() -> None:
    html = render_html(_run(*_records()), SCORING)
    assert "<h1>Research run run-1</h1>" in html
    assert "2025-06-02 15:30 IST" in html  # the run's last record, in IST
    counts = html[html.index("id='counts'") :].split("</table>")[0]
    cells = re.findall(r"<td class='text'>([^<]+)</td><td>([^<]+)</td>", counts)
    assert cells == [
        ("ranked", "5"),
        ("passed the score gate", "2"),
        ("passed the significance gate", "1"),
        ("deployed to paper", "1"),
    ]
    table = html[html.index("id='leaderboard'") :].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td class='text'>([^<]+)</td>", table)
    assert [rank for rank, _ in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0][1] == "spec &lt;a&gt;"  # names are escaped
    assert "<td>0.720</td><td>40</td><td>52.50</td><td>1.40</td><td>1.10</td><td>7.25</td>" in (
        table
    )
    assert "<td class='text gain'>passed</td>" in table
    assert "score 0.610 is below min_score = 0.500" in table


def test_the_table_keeps_the_top_rows_and_says_how_many_it_left_out() -> None:
    records = [_record(f"s{index:02d}", index / 100) for index in range(30)]
    html = render_html(_run(*records), SCORING, limit=10)
    table = html[html.index("id='leaderboard'") :].split("</table>")[0]
    assert table.count("<tr><td>") == 10
    assert "The top 10 of 30 strategies" in html


def test_the_histogram_draws_the_gate_line_and_colours_the_groups_apart() -> None:
    figure = score_histogram(_run(*_records()).rows, SCORING)
    [line] = figure.layout.shapes
    assert (line.x0, line.x1, line.line.dash) == (0.5, 0.5, "dash")
    assert [note.text for note in figure.layout.annotations] == ["score gate: min_score 0.500"]
    traces = {trace.name: list(trace.x) for trace in figure.data}
    assert traces == {
        "below the score gate (2)": [0.31, 0.0],
        "passed the score gate, not the lockbox (1)": [0.61],
        "passed both gates (1)": [0.72],
    }
    assert len({trace.marker.color for trace in figure.data}) == 3


def test_nan_and_infinite_scores_are_counted_and_not_drawn() -> None:
    run = _run(*_records(), _record("f", math.inf))
    html = render_html(run, SCORING)
    assert "2 score(s) are not a number (NaN) or infinite" in html
    drawn = sum(len(trace.x) for trace in score_histogram(run.rows, SCORING).data)
    assert drawn == 4
    assert "<td>NaN</td>" in html and "<td>∞</td>" in html  # the table still shows them


def test_a_run_without_a_known_deployment_count_says_so() -> None:
    html = render_html(_run(*_records(), deployed=None), SCORING)
    assert "<td class='text'>deployed to paper</td><td>not known</td>" in html


def test_the_page_inlines_plotly_and_names_the_chart(tmp_path: Path) -> None:
    folder = research_folder(tmp_path, "run/1")
    assert folder == tmp_path / "reports" / "research" / "run_1"
    path = write_html(_run(*_records()), SCORING, folder)
    page = path.read_text(encoding="utf-8")
    assert path.name == "report.html" and f'id="{CHART_ID}"' in page
    # plotly.js is in the page (it names its CDN for map data: no script tag loads from it)
    assert not re.search(r"<script[^>]*\bsrc=", page) and len(page) > 1_000_000


@pytest.mark.parametrize("scores", [[0.72, 0.61, 0.31, 0.0, math.nan], []])
def test_the_png_is_a_picture(tmp_path: Path, scores: list[float]) -> None:
    records = [_record(f"s{index}", score) for index, score in enumerate(scores)]
    rows = research_run("run-1", records).rows if records else []
    path = write_scores_png(rows, SCORING, tmp_path / "png" / "scores.png", "run-1")
    image = path.read_bytes()
    assert image[:8] == PNG_SIGNATURE and len(image) > 10_000
