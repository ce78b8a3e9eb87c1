"""Strategy memory and deployments over HTTP: the leaderboard (`tradeloop research best`), one
spec's record, evidence, history and deployments, the deployments, and retiring one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Path, Query

from tradeloop.api.auth import AUTH_RESPONSES, Authorized
from tradeloop.api.deps import DeploymentsDep, SettingsDep
from tradeloop.api.errors import documented, invalid_input
from tradeloop.api.models_strategies import (
    DeploymentOut,
    RetireRequest,
    StrategyDetail,
    StrategySummary,
    spec_of,
)
from tradeloop.app import stores
from tradeloop.domain.market.candles import Interval
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import NotFoundError

router = APIRouter(tags=["strategies"])

TIMEFRAMES: tuple[str, ...] = get_args(Interval)


@router.get(
    "/strategies/top",
    response_model=list[StrategySummary],
    summary="The best remembered strategies",
)
def top_strategies(
    settings: SettingsDep,
    symbol: Annotated[str | None, Query(description="Only this index, e.g. NIFTY.")] = None,
    timeframe: Annotated[
        str | None, Query(description=f"Only this bar length: one of {', '.join(TIMEFRAMES)}.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="How many strategies.")] = 10,
    passed: Annotated[bool, Query(description="Only strategies that passed the gate.")] = False,
) -> list[StrategySummary]:
    """The best remembered strategies, the latest research evaluation of each, by score."""
    if symbol is not None:
        try:
            symbol = index_instrument(symbol).symbol
        except NotFoundError as exc:
            raise invalid_input("symbol", str(exc)) from None
    if timeframe is not None and timeframe not in TIMEFRAMES:
        raise invalid_input("timeframe", f"{timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
    memory = stores.strategy_memory(settings)
    records = memory.best(limit, symbol=symbol, timeframe=timeframe, passed_only=passed)
    return [StrategySummary.of(record) for record in records]


@router.get(
    "/strategies/{spec_id}",
    response_model=StrategyDetail,
    summary="One strategy: spec, evidence, history, deployments",
    responses=documented(e404="No strategy with this spec id in memory or the deployments."),
)
def strategy(
    spec_id: Annotated[str, Path(description="A spec id, e.g. from GET /strategies/top.")],
    settings: SettingsDep,
    store: DeploymentsDep,
) -> StrategyDetail:
    """One spec: the spec, its lineage, its latest research evaluation (the evidence), every
    record of it (research, paper, live) and its deployments."""
    history = stores.strategy_memory(settings).history(spec_id)
    deployed = [d for d in store.deployments(include_retired=True) if d.spec_id == spec_id]
    if not history and not deployed:
        raise NotFoundError(
            f"no strategy {spec_id!r} in strategy memory or the deployments: see "
            "GET /strategies/top for the spec ids remembered"
        )
    research = [r for r in history if r.source == "backtest"]
    latest = research[-1] if research else (history[-1] if history else None)
    spec_json = latest.spec_json if latest is not None else deployed[-1].spec_json
    return StrategyDetail(
        spec_id=spec_id,
        spec=spec_of(spec_json),
        lineage=dict(latest.lineage) if latest is not None else {},
        context_key=latest.context_key if latest is not None else None,
        evidence=StrategySummary.of(research[-1]) if research else None,
        history=[StrategySummary.of(record) for record in history],
        deployments=[DeploymentOut.of(d) for d in deployed],
    )


@router.get(
    "/deployments",
    response_model=list[DeploymentOut],
    summary="The deployed strategies",
)
def deployments(
    store: DeploymentsDep,
    include_retired: Annotated[
        bool, Query(alias="all", description="Include retired deployments.")
    ] = False,
) -> list[DeploymentOut]:
    """The active deployments (with `all=true` the retired ones too), oldest first."""
    return [DeploymentOut.of(d) for d in store.deployments(include_retired=include_retired)]


@router.post(
    "/deployments/{deployment_id}/retire",
    response_model=DeploymentOut,
    dependencies=[Authorized],
    summary="Retire a deployment",
    responses=AUTH_RESPONSES
    | documented(
        e400="The deployment is retired already.",
        e404="No deployment with this id.",
    ),
)
def retire(
    deployment_id: Annotated[str, Path(description="A deployment id from GET /deployments.")],
    body: RetireRequest,
    store: DeploymentsDep,
) -> DeploymentOut:
    """Retire a deployment, as `tradeloop deployments retire`: the trading day stops running
    it; its record stays."""
    why = body.reason.strip()
    if not why:
        raise invalid_input("reason", "is blank: say why it stops (it is kept)", where="body")
    return DeploymentOut.of(store.retire(deployment_id, why, datetime.now(UTC)))
