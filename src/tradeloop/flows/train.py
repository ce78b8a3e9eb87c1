"""The train flow: re-evaluate what is deployed and what memory ranks best on the newest data,
and retire the deployments that no longer pass.

For each symbol, the specs of the active deployments and of the `top` best remembered
evaluations are walked forward on the research window of the stored candles (the lockbox held
out, as the research flow does), with the research flow's folds, costs and scoring
(`app.train.reevaluate`). The evaluations are remembered as a new part of this run, so memory
ranks each spec by its newest score. An active deployment whose spec fails the score gate
(`[strategy] min_trades`, `min_score`), or whose evaluation fails, is retired with a reason
naming the score, the minimum and the window; one that still passes stays active. A symbol with
no stored candles is skipped (its deployments stay as they are: there is no new evidence).
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar, cast

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradeloop.app.train import Reevaluation, retire_reason, specs_to_train
from tradeloop.clock import utc_now
from tradeloop.domain.market.calendar import to_ist
from tradeloop.settings import load_settings
from tradeloop.tasks.train import (
    active_deployments,
    reevaluate_specs,
    remembered_specs,
    research_window,
    retire_deployments,
)

T = TypeVar("T")


class TrainParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    top: int = Field(
        20, ge=0, le=10_000, description="Best remembered specs re-evaluated besides the deployed."
    )
    start: date | None = Field(None, description="First day of the candles (default: all).")
    end: date | None = Field(None, description="Last day of the candles (default: all).")
    folds: int | None = Field(None, ge=1, le=20, description="Default: [strategy] setting.")

    @model_validator(mode="after")
    def _start_not_after_end(self) -> TrainParameters:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(
                f"the last day {self.end} is before the first day {self.start}: "
                "give an end on or after the start"
            )
        return self


class TrainResult(BaseModel):
    """What a train run re-evaluated and retired.

    Attributes:
        reevaluated: every spec re-evaluated, with its new score (or its error).
        retired: deployment id → the reason it was retired.
        kept: the active deployments that still pass.
        skipped: symbols with deployed or remembered specs but no stored candles.
    """

    model_config = ConfigDict(frozen=True)

    reevaluated: list[Reevaluation]
    retired: dict[str, str]
    kept: list[str]
    skipped: list[str] = []


def _as_is(value: T) -> T:
    """`value` passed to a task as it is (see `flows.research._as_is`)."""
    return cast(T, quote(value))


@flow(name="train")
def train_flow(parameters: TrainParameters | None = None) -> TrainResult:
    """Re-evaluate the deployed and the best remembered specs on the newest data; retire the
    deployments that fall below the gate."""
    parameters = parameters or TrainParameters()
    settings = load_settings()
    now = utc_now()
    run_id = str(flow_run.get_id() or f"local-train-{now:%Y%m%dT%H%M%S}")
    today = to_ist(now).date()
    deployed = active_deployments(settings)
    by_symbol = specs_to_train(deployed, remembered_specs(settings, parameters.top))
    outcomes: dict[str, Reevaluation] = {}
    skipped = []
    for symbol, specs in by_symbol.items():
        candles = research_window(settings, symbol, parameters.start, parameters.end)
        if candles is None:
            get_run_logger().warning(
                "%s: no stored 1m candles in the window; %d spec(s) not re-evaluated",
                symbol,
                len(specs),
            )
            skipped.append(symbol)
            continue
        evaluated = reevaluate_specs(
            settings, run_id, symbol, _as_is(specs), _as_is(candles), parameters.folds
        )
        outcomes.update((outcome.spec_id, outcome) for outcome in evaluated)
    reasons = {}
    for deployment in deployed:
        if deployment.spec_id not in outcomes:
            continue  # its symbol was skipped: no new evidence
        reason = retire_reason(outcomes[deployment.spec_id], settings.strategy.min_score, today)
        if reason is not None:
            reasons[deployment.id] = reason
    if reasons:
        retire_deployments(settings, reasons)
        for deployment_id, reason in reasons.items():
            get_run_logger().info("retired %s: %s", deployment_id, reason)
    return TrainResult(
        reevaluated=list(outcomes.values()),
        retired=reasons,
        kept=[d.id for d in deployed if d.id not in reasons and d.spec_id in outcomes],
        skipped=skipped,
    )
