"""The agent's audit trail over HTTP: the runs (`tradeloop agent ls`) and one run's steps
(`tradeloop agent show`). Run files are redacted when written; nothing here reads settings'
secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.agent.records import StepRecord
from tradeloop.agent.runlog import RunFooter, find_run_file, list_runs, read_run
from tradeloop.api.deps import SettingsDep
from tradeloop.api.errors import documented
from tradeloop.domain.market.calendar import to_ist

router = APIRouter(tags=["agent"])


class RunSummaryOut(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    goal: str
    planner: str
    started_at: datetime = Field(description="IST.")
    steps: int
    outcome: str = Field(description="The run's outcome, or 'incomplete' without a footer.")


class RunOut(RunSummaryOut):
    context: dict[str, Any]
    tools: list[str]
    max_steps: int
    step_records: list[StepRecord] = Field(description="Every step, as recorded (redacted).")
    footer: RunFooter | None = Field(description="The outcome; null for an incomplete run.")


@router.get("/agent/runs", response_model=list[RunSummaryOut], summary="The recorded agent runs")
def runs(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first.")] = 20,
) -> list[RunSummaryOut]:
    """The most recent agent runs first."""
    return [
        RunSummaryOut(
            run_id=summary.run_id,
            goal=summary.goal,
            planner=summary.planner,
            started_at=to_ist(summary.started_at),
            steps=summary.steps,
            outcome=summary.outcome,
        )
        for summary in list_runs(settings.agent_runs_dir, limit=limit)
    ]


@router.get(
    "/agent/runs/{run_id}",
    response_model=RunOut,
    summary="Every step of one agent run",
    responses=documented(e404="No agent run with this id."),
)
def run(
    run_id: Annotated[str, Path(description="A run id from GET /agent/runs.")],
    settings: SettingsDep,
) -> RunOut:
    """Every step of one run: tool, arguments, validator, result, and its outcome."""
    recorded = read_run(find_run_file(settings.agent_runs_dir, run_id))
    header = recorded.header
    return RunOut(
        run_id=recorded.run_id,
        goal=header.goal,
        planner=header.planner,
        started_at=to_ist(header.started_at),
        steps=len(recorded.steps),
        outcome=recorded.outcome,
        context=dict(header.context),
        tools=list(header.tools),
        max_steps=header.max_steps,
        step_records=list(recorded.steps),
        footer=recorded.footer,
    )
