"""The research report's markdown names where the run's HTML report is, or says it was not
written and how to write it; the score histogram's artifact key is one Prefect accepts."""

from __future__ import annotations

import re
from pathlib import Path

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.flows.artifacts import SCORES_KEY, research_report


def test_the_score_histograms_key_follows_prefects_rule() -> None:
    assert re.fullmatch(r"[a-z0-9-]+", SCORES_KEY)


def test_the_report_names_the_runs_page_and_the_command_that_writes_it() -> None:
    page = Path("/data/reports/research/run-1/report.html")
    report = research_report(
        [], evaluated=0, reused=0, deployed=[], scoring=ScoringConfig(), run_id="run-1", page=page
    )
    assert report.endswith(
        "## Report\n\nThe leaderboard and the histogram of scores with the score gate: "
        "`/data/reports/research/run-1/report.html` (open it in a browser, or `tradeloop "
        "research report run-1 --open` writes it again and opens it).\n"
    )


def test_a_report_not_written_is_said_with_the_command_that_writes_it() -> None:
    report = research_report(
        [], evaluated=0, reused=0, deployed=[], scoring=ScoringConfig(), run_id="run-1"
    )
    assert "was not written: the run's log says why" in report
    assert "`tradeloop research report run-1 --open`" in report


def test_without_a_run_id_the_report_has_no_report_section() -> None:
    report = research_report([], evaluated=0, reused=0, deployed=[], scoring=ScoringConfig())
    assert "## Report" not in report
