"""The REST API's bodies for strategy memory and deployments: times in IST, NaN as null."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tradeloop.api.models import Out, finite, finite_map, ist
from tradeloop.domain.market.calendar import to_ist

if TYPE_CHECKING:
    from tradeloop.domain.deploy import Deployment
    from tradeloop.storage.memory import StrategyRecord


class RetireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, description="Why it stops: kept with the deployment.")


class StrategySummary(Out):
    spec_id: str
    name: str
    symbol: str
    timeframe: str
    regime: str
    run_id: str
    source: str = Field(description="backtest, paper or live.")
    evaluated_at: datetime = Field(description="IST.")
    window_start: datetime = Field(description="IST.")
    window_end: datetime = Field(description="IST.")
    score: float | None
    passed: bool
    reasons: list[str]
    metrics: dict[str, float | None] = Field(description="Out-of-sample metrics; money in rupees.")
    gate: dict[str, float | None] = Field(description="The lockbox gate's numbers (PSR, DSR...).")

    @classmethod
    def of(cls, r: StrategyRecord) -> StrategySummary:
        return cls(
            spec_id=r.spec_id,
            name=r.name,
            symbol=r.symbol,
            timeframe=r.timeframe,
            regime=r.regime,
            run_id=r.run_id,
            source=r.source,
            evaluated_at=to_ist(r.evaluated_at),
            window_start=to_ist(r.window_start),
            window_end=to_ist(r.window_end),
            score=finite(r.score),
            passed=r.passed,
            reasons=list(r.reasons),
            metrics=finite_map(r.metrics),
            gate=finite_map(r.gate),
        )


class DeploymentOut(Out):
    id: str
    spec_id: str
    name: str
    symbol: str
    timeframe: str
    mode: str
    status: str
    run_id: str
    deployed_at: datetime = Field(description="IST.")
    retired_at: datetime | None = Field(description="IST.")
    retire_reason: str | None
    promoted_at: datetime | None = Field(description="IST.")
    evidence: dict[str, float | None]

    @classmethod
    def of(cls, d: Deployment) -> DeploymentOut:
        return cls(
            id=d.id,
            spec_id=d.spec_id,
            name=d.name,
            symbol=d.symbol,
            timeframe=d.timeframe,
            mode=d.mode,
            status=d.status,
            run_id=d.run_id,
            deployed_at=to_ist(d.deployed_at),
            retired_at=ist(d.retired_at),
            retire_reason=d.retire_reason,
            promoted_at=ist(d.promoted_at),
            evidence=finite_map(d.evidence),
        )


class StrategyDetail(Out):
    spec_id: str
    spec: dict[str, Any] = Field(description="The StrategySpec as research evaluated it.")
    lineage: dict[str, str | list[str]] = Field(description="Where the spec came from, if known.")
    context_key: str | None
    evidence: StrategySummary | None = Field(description="The latest research evaluation.")
    history: list[StrategySummary] = Field(description="Every record, oldest first.")
    deployments: list[DeploymentOut]


def spec_of(spec_json: str) -> dict[str, Any]:
    loaded = json.loads(spec_json)
    return loaded if isinstance(loaded, dict) else {"spec": loaded}
