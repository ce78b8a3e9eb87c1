"""Re-evaluation for the nightly train flow: the specs to re-evaluate, their new scores, and
the verdict on each active deployment.

Every spec is evaluated through `ResearchContext.evaluate` (one compiler, one backtester, the
research flow's folds, costs and scoring). A spec whose evaluation fails with a user-facing
error (an invalid spec, an option spec with no IV stored) gets that error as its outcome instead
of a score; transient errors and our bugs are raised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import polars as pl
from pydantic import BaseModel, ConfigDict

from tradeloop.app.research import ResearchContext
from tradeloop.domain.deploy import Deployment
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.research import Evaluation
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import UserError


class Reevaluation(BaseModel):
    """One spec re-evaluated on the newest research window: its score, or why it could not be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec_id: str
    name: str
    symbol: str
    score: float | None
    """None when the evaluation failed (`error` says why)."""
    passed: bool
    """Passed the score gate (`min_trades`, `min_score`) on the window."""
    reasons: tuple[str, ...] = ()
    error: str | None = None
    window_first: date
    window_last: date


def specs_to_train(
    deployments: Sequence[Deployment], remembered_json: Sequence[str]
) -> dict[str, list[StrategySpec]]:
    """The specs of the active `deployments` and the remembered ones (their JSON), each once,
    by symbol (in the order met: deployments first)."""
    seen: set[str] = set()
    by_symbol: dict[str, list[StrategySpec]] = {}
    for spec_json in [d.spec_json for d in deployments] + list(remembered_json):
        spec = StrategySpec.model_validate(json.loads(spec_json))
        if spec.id in seen:
            continue
        seen.add(spec.id)
        by_symbol.setdefault(spec.symbol, []).append(spec)
    return by_symbol


def reevaluate(
    context: ResearchContext,
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    folds: int | None,
) -> tuple[list[Evaluation], list[Reevaluation]]:
    """Evaluate `specs` on `candles` (one batch; spec by spec only when the batch fails, to find
    which spec failed): the evaluations, and the outcome of every spec."""
    first, last = to_ist(candles["ts"][0]).date(), to_ist(candles["ts"][-1]).date()
    try:
        evaluations = context.evaluate(specs, candles, folds)
        failures: dict[str, str] = {}
    except UserError:
        evaluations, failures = [], {}
        for spec in specs:
            try:
                evaluations.extend(context.evaluate([spec], candles, folds))
            except UserError as exc:
                failures[spec.id] = str(exc)
    outcomes = [
        Reevaluation(
            spec_id=e.spec.id,
            name=e.spec.name,
            symbol=e.spec.symbol,
            score=e.score.score,
            passed=e.score.passed,
            reasons=e.score.reasons,
            window_first=first,
            window_last=last,
        )
        for e in evaluations
    ]
    outcomes += [
        Reevaluation(
            spec_id=spec.id,
            name=spec.name,
            symbol=spec.symbol,
            score=None,
            passed=False,
            error=failures[spec.id],
            window_first=first,
            window_last=last,
        )
        for spec in specs
        if spec.id in failures
    ]
    return evaluations, outcomes


def retire_reason(outcome: Reevaluation, min_score: float, day: date) -> str | None:
    """Why a deployment of `outcome`'s spec is retired by the train run of `day`, naming the
    numbers; None when it still passes."""
    window = f"{outcome.window_first}..{outcome.window_last}"
    if outcome.error is not None:
        return f"train {day}: evaluation failed on {window}: {outcome.error}"
    if outcome.passed:
        return None
    detail = "; ".join(outcome.reasons)
    return f"train {day}: score {outcome.score:.3f} below min_score {min_score:g} on {window}" + (
        f" ({detail})" if detail else ""
    )
