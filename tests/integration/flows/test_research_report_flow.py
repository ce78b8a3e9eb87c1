"""The end of a research run under a real (temporary) Prefect server: it writes its report
(page and score histogram) under the data directory, publishes the histogram as an image
artifact and names the page in its markdown report; strategy memory reads the run's
leaderboard back, reused evaluations included; a report that cannot be drawn is a warning."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from tradeloop.app import stores
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.research import LeaderboardRow, rank
from tradeloop.flows.research import ResearchParameters, research_flow
from tradeloop.reports.research import research_folder
from tradeloop.settings import load_settings
from tradeloop.storage.memory import StrategyRecord

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMETERS = ResearchParameters(symbols=["NIFTY"], random_count=6, folds=2, batch_size=3)


def _store_candles() -> None:
    market = generate_market("NIFTY", days=12, start=date(2025, 3, 3), seed=5)
    stores.candle_store(load_settings()).write(market.candles)


def _artifacts(run_id: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
        )
    return {artifact.key: artifact for artifact in artifacts if artifact.key}


def _progress(run_id: str) -> list[float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
        )
    return [float(artifact.data) for artifact in artifacts if artifact.type == "progress"]


def _board(rows: list[LeaderboardRow]) -> list[tuple[int, str, float, bool, str]]:
    # NaN numbers never compare equal: the ranked ids, scores and verdicts say it all
    return [(row.rank, row.spec_id, row.score, row.passed, row.reason) for row in rows]


def _read_back(records: list[StrategyRecord]) -> list[LeaderboardRow]:
    return rank([record.leaderboard_row() for record in records])


@pytest.mark.usefixtures("prefect_harness")
def test_a_research_run_writes_its_report_and_publishes_the_score_histogram() -> None:
    _store_candles()
    result = research_flow(PARAMETERS)
    settings = load_settings()
    memory = stores.strategy_memory(settings)
    [run] = memory.runs()
    specs = len(result.leaderboard)
    assert specs and run.specs == specs

    folder = research_folder(settings.data_dir, run.run_id)
    page = folder / "report.html"
    assert run.run_id in page.read_text(encoding="utf-8")
    png = (folder / "scores.png").read_bytes()
    assert png[:8] == PNG_SIGNATURE

    artifacts = _artifacts(run.run_id)
    # progress is sent at most every few seconds, and always when the run completes
    assert _progress(run.run_id) == [100.0]
    scores = artifacts["research-scores"]
    assert scores.type == "image"
    assert scores.data == "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    assert f"`{page}`" in artifacts["research-report"].data
    assert f"tradeloop research report {run.run_id}" in artifacts["research-report"].data
    assert _board(_read_back(memory.run_records(run.run_id))) == _board(result.leaderboard)

    # Again: every spec is reused, none evaluated; the run still reads back whole.
    again = research_flow(PARAMETERS)
    assert (again.evaluated, again.reused) == (0, specs)
    latest = memory.runs()[0]
    assert latest.run_id != run.run_id and latest.specs == specs
    assert _board(_read_back(memory.run_records(latest.run_id))) == _board(again.leaderboard)
    assert (research_folder(settings.data_dir, latest.run_id) / "report.html").exists()


@pytest.mark.usefixtures("prefect_harness")
def test_a_report_that_cannot_be_drawn_leaves_the_run_and_its_leaderboard_whole(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _store_candles()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no font for the axes")

    monkeypatch.setattr("tradeloop.reports.research_png.write_scores_png", broken)
    with caplog.at_level("WARNING"):
        result = research_flow(PARAMETERS)
    assert result.leaderboard
    [run] = stores.strategy_memory(load_settings()).runs()
    assert "its report was not written" in caplog.text
    assert "RuntimeError: no font for the axes" in caplog.text
    artifacts = _artifacts(run.run_id)
    assert "research-scores" not in artifacts and "leaderboard" in artifacts
    assert "was not written" in artifacts["research-report"].data
