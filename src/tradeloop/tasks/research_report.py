"""The end of a research run: note what it reused, and write its report.

`note_reused` lets strategy memory read the run's leaderboard back whole later
(`tradeloop research report RUN_ID`); `write_research_report` writes the run's page and score
histogram under the data directory for the flow to publish. The leaderboard is the run's
result and the report a view of it: a report that cannot be drawn is a warning, not a failed
run.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tradeloop.app import stores
from tradeloop.clock import utc_now
from tradeloop.domain.research import LeaderboardRow
from tradeloop.settings import Settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.retry import only_transient


@dataclass(frozen=True)
class ReportFiles:
    """A research run's report: the page, and the score histogram as a data URL (a Prefect
    image artifact shows it without serving the file)."""

    page: Path
    scores_png: Path
    scores_url: str


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def note_reused(settings: Settings, run_id: str, records: Sequence[StrategyRecord]) -> int:
    """Note in strategy memory which of the run's leaderboard `records` earlier runs wrote (it
    reused them and did not judge them again); return how many."""
    reused = [record for record in records if record.run_id != run_id]
    stores.strategy_memory(settings).remember_reused(run_id, reused, at=utc_now())
    return len(reused)


@task(cache_policy=NO_CACHE)
def write_research_report(
    settings: Settings, run_id: str, rows: Sequence[LeaderboardRow], deployed: int
) -> ReportFiles | None:
    """Write the run's `report.html` and `scores.png` into
    `<data_dir>/reports/research/<run id>/`; None, with a warning naming the error, when they
    cannot be drawn."""
    # Imported here: plotly and matplotlib load only when a run ends, not with the flow.
    from tradeloop.reports.research import (
        SCORES_PNG,
        ResearchRun,
        research_folder,
        write_html,
    )
    from tradeloop.reports.research_png import write_scores_png

    run = ResearchRun(run_id=run_id, at=utc_now(), rows=list(rows), deployed=deployed)
    folder = research_folder(settings.data_dir, run_id)
    try:
        page = write_html(run, settings.strategy, folder)
        png = write_scores_png(rows, settings.strategy, folder / SCORES_PNG, f"research {run_id}")
        image = base64.b64encode(png.read_bytes()).decode("ascii")
    # Any error: the chart is a view of the leaderboard, which stands without it.
    except Exception as exc:
        get_run_logger().warning(
            "research run %s: its report was not written to %s: %s: %s",
            run_id,
            folder,
            type(exc).__name__,
            exc,
        )
        return None
    return ReportFiles(page=page, scores_png=png, scores_url=f"data:image/png;base64,{image}")
