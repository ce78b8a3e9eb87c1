"""The research run's artifacts, built as plain data: the leaderboard table and the report."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.deploy import Deployment
from tradeloop.domain.research import LeaderboardRow
from tradeloop.flows.artifacts import (
    LEADERBOARD_KEY,
    REPORT_KEY,
    leaderboard_table,
    research_report,
)

COLUMNS = ["rank", "name", "symbol", "tf", "score", "trades", "win %", "PF", "net P&L"]
COLUMNS += ["Sharpe", "DSR", "gate"]


def _row(rank: int, passed: bool = False, **changes: object) -> LeaderboardRow:
    row = LeaderboardRow(
        rank=rank,
        name=f"spec {rank}",
        spec_id=f"s{rank:04d}",
        symbol="NIFTY",
        timeframe="5m",
        score=0.61234,
        passed=passed,
        trades=42,
        win_rate_pct=55.56,
        profit_factor=1.456,
        net_pnl=12345.678,
        return_pct=1.2,
        max_drawdown_pct=3.4,
        sharpe=1.234,
        reason="" if passed else "DSR 0.41 < 0.95",
        lockbox_sharpe=2.0 if passed else math.nan,
        lockbox_trades=12 if passed else 0,
        psr=0.99 if passed else math.nan,
        dsr=0.97 if passed else math.nan,
        trials=300,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def _deployment(row: LeaderboardRow) -> Deployment:
    return Deployment(
        id=f"dep-{row.spec_id}-1",
        spec_id=row.spec_id,
        spec_version=1,
        name=row.name,
        symbol=row.symbol,
        timeframe=row.timeframe,
        spec_json="{}",
        mode="paper",
        status="active",
        deployed_at=datetime(2025, 3, 4, 13, 0, tzinfo=UTC),
        run_id="run-1",
        evidence={"score": row.score, "passed": 1.0},
    )


def test_artifact_keys_follow_prefects_rule_lowercase_letters_numbers_dashes() -> None:
    for key in (LEADERBOARD_KEY, REPORT_KEY):
        assert re.fullmatch(r"[a-z0-9-]+", key)


def test_leaderboard_table_keeps_the_top_50_ranked_rows_with_the_traders_columns() -> None:
    rows = [_row(rank) for rank in range(1, 81)]
    table = leaderboard_table(rows)
    assert len(table) == 50
    assert [record["rank"] for record in table] == list(range(1, 51))
    assert list(table[0]) == COLUMNS
    first = table[0]
    assert first["score"] == 0.612
    assert first["win %"] == 55.6
    assert first["net P&L"] == 12345.68
    assert first["gate"] == "DSR 0.41 < 0.95"


def test_leaderboard_table_cells_are_json_without_nan_or_infinity() -> None:
    rows = [_row(1, profit_factor=math.inf, sharpe=math.nan), _row(2, passed=True)]
    table = leaderboard_table(rows)
    json.dumps(table, allow_nan=False)  # Prefect stores the table as JSON
    assert table[0]["PF"] == "∞"
    assert table[0]["Sharpe"] is None and table[0]["DSR"] is None
    assert table[1]["gate"] == "passed" and table[1]["DSR"] == 0.97


def test_report_counts_evaluated_and_reused_and_names_what_passed_and_was_deployed() -> None:
    winner = _row(1, passed=True)
    report = research_report(
        [winner, _row(2)],
        evaluated=1,
        reused=1,
        deployed=[_deployment(winner)],
        scoring=ScoringConfig(),
    )
    assert "2 strategies on the leaderboard: 1 evaluated by this run, 1 reused" in report
    assert "1 passed:" in report
    assert "| 1 | spec 1 | NIFTY | 5m | 0.612 | 2.0 | 12 | 0.99 | 0.97 | 300 |" in report
    assert "PSR of at least 0.95 and a DSR of at least 0.95" in report
    assert "`dep-s0001-1`: spec 1 (NIFTY 5m)" in report
    assert "spec 2" not in report  # only what passed is listed


def test_report_when_nothing_passed_says_why_the_best_did_not() -> None:
    report = research_report(
        [_row(1), _row(2)], evaluated=2, reused=0, deployed=[], scoring=ScoringConfig()
    )
    assert "None passed." in report
    assert "The best, spec 1 (rank 1): DSR 0.41 < 0.95." in report
    assert "## Deployed to paper\n\nNothing" in report


def test_report_of_an_empty_run() -> None:
    report = research_report([], evaluated=0, reused=0, deployed=[], scoring=ScoringConfig())
    assert "0 strategies on the leaderboard" in report and "None passed." in report
