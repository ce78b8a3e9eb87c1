"""A research run as one self-contained HTML page: its counts, its leaderboard and the
distribution of its scores with the score gate drawn on it.

`render_html` lays out the run's id and time (IST), how many strategies it ranked, how many
passed the score gate and then the significance gate on the lockbox, how many it deployed when
that is known, the top of the leaderboard, and a histogram of the scores (plotly, inlined: no
CDN) with `min_score` as a labelled vertical line and each strategy coloured by how far it got.
`research_png.write_scores_png` draws the same histogram as `scores.png`.

A score that is not a number (NaN) or infinite cannot be binned: it is counted and said, not
drawn. The thresholds are the `[strategy]` settings the caller passes (today's, which are the
run's unless they changed since).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import plotly.graph_objects as go

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.research import LeaderboardRow, rank
from tradeloop.reports.page import NumberKind, page, shown
from tradeloop.storage.memory import StrategyRecord

REPORT_FILE = "report.html"
SCORES_PNG = "scores.png"
TABLE_ROWS = 50  # leaderboard rows on the page, the top ones
BIN_WIDTH = 0.025  # scores run from 0 to 1: 40 bins
CHART_ID = "score-histogram"
# (column header, LeaderboardRow field, how it is shown)
_COLUMNS: tuple[tuple[str, str, NumberKind], ...] = (
    ("score", "score", "score"),
    ("trades", "trades", "count"),
    ("win %", "win_rate_pct", "number"),
    ("PF", "profit_factor", "number"),
    ("Sharpe", "sharpe", "number"),
    ("max DD %", "max_drawdown_pct", "number"),
)


@dataclass(frozen=True)
class ResearchRun:
    """A research run's leaderboard, as the run returned it.

    Attributes:
        run_id: the run's id (the Prefect flow run's).
        at: when the run ranked its strategies (UTC): the end of the run, or, read back from
            strategy memory, its last record.
        rows: every strategy of the run, ranked (`tradeloop.domain.research.rank`).
        deployed: how many strategies the run deployed to paper; None when not known.
    """

    run_id: str
    at: datetime
    rows: list[LeaderboardRow]
    deployed: int | None = None


def research_run(
    run_id: str, records: Sequence[StrategyRecord], deployed: int | None = None
) -> ResearchRun:
    """The run of `records` (`StrategyMemory.run_records(run_id)`, not empty), ranked."""
    return ResearchRun(
        run_id=run_id,
        at=max(record.evaluated_at for record in records),
        rows=rank([record.leaderboard_row() for record in records]),
        deployed=deployed,
    )


def research_folder(data_dir: Path, run_id: str) -> Path:
    """Where a run's report files go: `<data_dir>/reports/research/<run id>/` (a character
    a file name cannot hold becomes `_`)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    return data_dir / "reports" / "research" / safe


def passed_score_gate(score: float, scoring: ScoringConfig) -> bool:
    """Whether `score` passed the score gate: a research run sends the same scores (above 0, at
    least `min_score`) to the lockbox (`flows/research.py`, `_gate`)."""
    return math.isfinite(score) and score > 0 and score >= scoring.min_score


@dataclass(frozen=True)
class ScoreGroup:
    """The finite scores of the strategies that got as far as `name`, drawn in `colour`."""

    name: str
    colour: str
    scores: list[float]


def score_groups(rows: Sequence[LeaderboardRow], scoring: ScoringConfig) -> list[ScoreGroup]:
    """The finite scores split by how far each strategy got: below the score gate, through it
    but not through the lockbox's significance gate, through both."""
    finite = [row for row in rows if math.isfinite(row.score)]
    below = [row.score for row in finite if not passed_score_gate(row.score, scoring)]
    gated = [row for row in finite if passed_score_gate(row.score, scoring)]
    return [
        ScoreGroup("below the score gate", "#d62728", below),
        ScoreGroup(
            "passed the score gate, not the lockbox",
            "#ff7f0e",
            [row.score for row in gated if not row.passed],
        ),
        ScoreGroup("passed both gates", "#2ca02c", [row.score for row in gated if row.passed]),
    ]


def not_finite(rows: Sequence[LeaderboardRow]) -> int:
    """How many scores are NaN or infinite (not drawn)."""
    return sum(not math.isfinite(row.score) for row in rows)


def gate_label(scoring: ScoringConfig) -> str:
    return f"score gate: min_score {scoring.min_score:.3f}"


def score_histogram(rows: Sequence[LeaderboardRow], scoring: ScoringConfig) -> go.Figure:
    """The scores as stacked bars of `BIN_WIDTH`, one colour per `score_groups` group, with the
    score gate's `min_score` as a dashed vertical line."""
    figure = go.Figure()
    for group in score_groups(rows, scoring):
        figure.add_trace(
            go.Histogram(
                x=group.scores,
                name=f"{group.name} ({len(group.scores)})",
                marker={"color": group.colour},
                xbins={"start": 0.0, "end": 1.0 + BIN_WIDTH, "size": BIN_WIDTH},
                hovertemplate="score %{x}: %{y} strategies<extra>" + group.name + "</extra>",
            )
        )
    figure.add_vline(
        x=scoring.min_score,
        line={"color": "#222", "dash": "dash", "width": 2},
        annotation_text=gate_label(scoring),
        annotation_position="top right",
    )
    figure.update_layout(
        title=f"Scores of {len(rows)} strategies",
        barmode="stack",
        height=440,
        margin={"t": 60},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(title_text="score (0 to 1)", range=[0.0, 1.0 + BIN_WIDTH])
    figure.update_yaxes(title_text="strategies")
    return figure


def render_html(run: ResearchRun, scoring: ScoringConfig, limit: int = TABLE_ROWS) -> str:
    """The whole report page of `run`."""
    title = f"Research run {run.run_id}"
    chart = score_histogram(run.rows, scoring).to_html(
        full_html=False, include_plotlyjs=True, div_id=CHART_ID
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p id='when'>Ranked {to_ist(run.at):%Y-%m-%d %H:%M} IST.</p>",
        _counts(run, scoring),
        "<h2>Scores and the score gate</h2>",
        f"<p>Each bar counts the strategies whose score (walk-forward, out of sample, on the "
        f"research window) falls in it, {BIN_WIDTH:g} wide. The dashed line is the score gate: "
        f"strategies at or right of min_score = {scoring.min_score:.3f} (with a score above 0) "
        "went on to the lockbox, where a PSR of at least "
        f"{scoring.min_probabilistic_sharpe:.2f} and a DSR of at least "
        f"{scoring.min_deflated_sharpe:.2f} pass the significance gate. Red: below the score "
        "gate; orange: through it, not through the lockbox; green: through both. The "
        "thresholds are today's [strategy] settings.</p>",
        _not_finite_note(run.rows),
        chart,
        "<h2>Leaderboard</h2>",
        _table_caption(len(run.rows), limit),
        _leaderboard_table(run.rows[:limit]),
    ]
    return page(title, "\n".join(part for part in parts if part))


def write_html(run: ResearchRun, scoring: ScoringConfig, folder: Path) -> Path:
    """Write `report.html` into `folder` (made if missing) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    path.write_text(render_html(run, scoring), encoding="utf-8")
    return path


def _counts(run: ResearchRun, scoring: ScoringConfig) -> str:
    score_gate = sum(passed_score_gate(row.score, scoring) for row in run.rows)
    significance = sum(row.passed for row in run.rows)
    deployed = "not known" if run.deployed is None else f"{run.deployed:,}"
    lines = [
        ("ranked", f"{len(run.rows):,}", "every spec of the run, reused evaluations included"),
        ("passed the score gate", f"{score_gate:,}", f"score >= {scoring.min_score:.3f}"),
        (
            "passed the significance gate",
            f"{significance:,}",
            "PSR and DSR on the lockbox: these may be deployed",
        ),
        ("deployed to paper", deployed, "by this run (`tradeloop deployments ls`)"),
    ]
    rows = "".join(
        f"<tr><td class='text'>{label}</td><td>{value}</td>"
        f"<td class='text'>{_with_code(meaning)}</td></tr>"
        for label, value, meaning in lines
    )
    return f"<table id='counts'>{rows}</table>"


def _with_code(text: str) -> str:
    """`text` escaped, with each `command` in backticks set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _not_finite_note(rows: Sequence[LeaderboardRow]) -> str:
    count = not_finite(rows)
    if not count:
        return ""
    return (
        f"<p id='not-finite'>{count} score(s) are not a number (NaN) or infinite: they are "
        "not drawn; the leaderboard shows them.</p>"
    )


def _table_caption(total: int, limit: int) -> str:
    if total == 0:
        return "<p>The run ranked no strategy.</p>"
    if total <= limit:
        return f"<p>All {total} strategies, ranked by score, then net P&amp;L.</p>"
    return (
        f"<p>The top {limit} of {total} strategies, ranked by score, then net P&amp;L "
        "(<code>tradeloop research best</code> reads strategy memory).</p>"
    )


def _leaderboard_table(rows: Sequence[LeaderboardRow]) -> str:
    headers = "".join(f"<th>{header}</th>" for header, _, _ in _COLUMNS)
    head = (
        "<tr><th>rank</th><th class='text'>name</th><th class='text'>symbol</th>"
        f"<th class='text'>tf</th>{headers}<th class='text'>verdict</th></tr>"
    )
    body = "".join(_table_row(row) for row in rows)
    return f"<table id='leaderboard'>{head}{body}</table>"


def _table_row(row: LeaderboardRow) -> str:
    numbers = "".join(f"<td>{shown(getattr(row, field), kind)}</td>" for _, field, kind in _COLUMNS)
    verdict = "passed" if row.passed else (row.reason or "not passed")
    return (
        f"<tr><td>{row.rank}</td><td class='text'>{html.escape(row.name)}</td>"
        f"<td class='text'>{html.escape(row.symbol)}</td>"
        f"<td class='text'>{html.escape(row.timeframe)}</td>{numbers}"
        f"<td class='text {'gain' if row.passed else 'loss'}'>{html.escape(verdict)}</td></tr>"
    )
