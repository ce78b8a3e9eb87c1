"""A research run's score histogram as a PNG (matplotlib, Agg: no display needed): the same
bars, colours and score-gate line as the HTML page's chart (`reports/research.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: a headless backend, whatever the environment says

import matplotlib.pyplot as plt  # after use("Agg"): pyplot picks its backend on import
import numpy as np

from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.research import LeaderboardRow
from tradeloop.reports.research import BIN_WIDTH, gate_label, not_finite, score_groups


def write_scores_png(
    rows: Sequence[LeaderboardRow], scoring: ScoringConfig, path: Path, title: str
) -> Path:
    """Draw the scores of `rows` as stacked bars with the score gate's `min_score` line into
    `path` (its folder made if missing); return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    groups = score_groups(rows, scoring)
    edges = np.arange(0.0, 1.0 + 2 * BIN_WIDTH, BIN_WIDTH).tolist()
    figure, axes = plt.subplots(figsize=(10, 4.5))
    try:
        axes.hist(
            [group.scores for group in groups],
            bins=edges,
            stacked=True,
            color=[group.colour for group in groups],
            label=[f"{group.name} ({len(group.scores)})" for group in groups],
        )
        axes.axvline(scoring.min_score, color="#222", linestyle="--", linewidth=2)
        axes.annotate(
            gate_label(scoring),
            xy=(scoring.min_score, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -14),
            textcoords="offset points",
        )
        missing = not_finite(rows)
        shown = f"; {missing} NaN or infinite not drawn" if missing else ""
        axes.set_title(f"{title}: scores of {len(rows)} strategies{shown}")
        axes.set_xlabel("score (0 to 1)")
        axes.set_ylabel("strategies")
        axes.set_xlim(0.0, 1.0 + BIN_WIDTH)
        axes.legend(loc="upper left", fontsize="small")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path
