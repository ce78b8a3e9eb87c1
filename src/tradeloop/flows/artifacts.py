"""What a research run shows in the Prefect UI, built as plain data (tested without Prefect).

The research flow publishes three artifacts at its end:

* ``leaderboard`` (a table): the top `LEADERBOARD_ROWS` strategies of the run, ranked;
* ``research-scores`` (an image): the histogram of the run's scores with the score gate's
  min_score drawn on it (`tradeloop.reports.research_png`), when it could be drawn;
* ``research-report`` (markdown): how many specs were evaluated or reused, what passed the
  significance gate and on which numbers, what the run deployed to paper, and where the run's
  HTML report (leaderboard and score histogram) was written.

Artifact keys follow Prefect's rule: lowercase letters, numbers and dashes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.deploy import Deployment
from tradeloop.domain.research import LeaderboardRow

LEADERBOARD_KEY = "leaderboard"
REPORT_KEY = "research-report"
SCORES_KEY = "research-scores"
LEADERBOARD_ROWS = 50

Cell = str | int | float | None


def _number(value: float, digits: int = 2) -> float | str | None:
    """`value` rounded for a table cell: None when missing (NaN), ∞ as text."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return round(value, digits)


def _text(value: float, digits: int = 2) -> str:
    cell = _number(value, digits)
    return "-" if cell is None else str(cell)


def gate_verdict(row: LeaderboardRow) -> str:
    """`passed`, or why the row did not pass (the reasons memory recorded)."""
    return "passed" if row.passed else (row.reason or "not passed")


def leaderboard_table(
    rows: Sequence[LeaderboardRow], limit: int = LEADERBOARD_ROWS
) -> list[dict[str, Cell]]:
    """The first `limit` ranked rows as table-artifact records, columns in reading order."""
    return [
        {
            "rank": row.rank,
            "name": row.name,
            "symbol": row.symbol,
            "tf": row.timeframe,
            "score": _number(row.score, 3),
            "trades": row.trades,
            "win %": _number(row.win_rate_pct, 1),
            "PF": _number(row.profit_factor),
            "net P&L": _number(row.net_pnl),
            "Sharpe": _number(row.sharpe),
            "DSR": _number(row.dsr, 3),
            "gate": gate_verdict(row),
        }
        for row in rows[:limit]
    ]


def research_report(
    rows: Sequence[LeaderboardRow],
    evaluated: int,
    reused: int,
    deployed: Sequence[Deployment],
    scoring: ScoringConfig,
    *,
    run_id: str | None = None,
    page: Path | None = None,
) -> str:
    """The run as markdown: what it evaluated, what passed the gate and why, what it deployed,
    and, for run `run_id`, where its HTML report is (`page`; None when it was not written)."""
    passed = [row for row in rows if row.passed]
    lines = [
        "# Research run",
        "",
        f"{len(rows)} strategies on the leaderboard: {evaluated} evaluated by this run, "
        f"{reused} reused from strategy memory (same specs, candles, costs and settings).",
        "",
        "## The gate",
        "",
        f"Ranked on the research window (walk-forward, out of sample); a strategy passes with a "
        f"score of at least {scoring.min_score} and, on the lockbox held back after it, a PSR of "
        f"at least {scoring.min_probabilistic_sharpe} and a DSR of at least "
        f"{scoring.min_deflated_sharpe} (deflated for the strategies tried).",
        "",
    ]
    if passed:
        lines += [
            f"{len(passed)} passed:",
            "",
            "| rank | name | symbol | tf | score | lockbox Sharpe | lockbox trades | PSR | DSR "
            "| trials |",
            "|---:|---|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {row.rank} | {row.name} | {row.symbol} | {row.timeframe} | {_text(row.score, 3)} "
            f"| {_text(row.lockbox_sharpe)} | {row.lockbox_trades} | {_text(row.psr, 3)} "
            f"| {_text(row.dsr, 3)} | {row.trials} |"
            for row in passed
        ]
    else:
        lines.append("None passed.")
        if rows:
            lines.append(f"The best, {rows[0].name} (rank 1): {gate_verdict(rows[0])}.")
    lines += ["", "## Deployed to paper", ""]
    if deployed:
        lines += [
            f"- `{deployment.id}`: {deployment.name} ({deployment.symbol} {deployment.timeframe})"
            for deployment in deployed
        ]
        lines += ["", "`tradeloop deployments ls` lists them; the manage flow trades them."]
    else:
        lines.append(
            "Nothing: no strategy passed the gate, or those that passed were deployed by "
            "earlier runs."
        )
    if run_id is not None:
        lines += ["", "## Report", "", _report_line(run_id, page)]
    return "\n".join(lines) + "\n"


def _report_line(run_id: str, page: Path | None) -> str:
    again = f"`tradeloop research report {run_id} --open`"
    if page is None:
        return (
            "The HTML report (leaderboard and score histogram) was not written: the run's log "
            f"says why; {again} writes it from strategy memory."
        )
    return (
        f"The leaderboard and the histogram of scores with the score gate: `{page}` (open it "
        f"in a browser, or {again} writes it again and opens it)."
    )
