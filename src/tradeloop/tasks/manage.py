"""Manage tasks: trade a day in paper, and remember what it did.

`trade_paper_day` is not retried by Prefect: the day's orders carry deterministic ids and the
position manager reconciles from the ledger, so running it again is safe, but whether to run a
trading day again is a person's call (`tradeloop manage` again, or the flow from the UI).
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from tradeloop.app import stores
from tradeloop.app.day_agent import DayAgentConfig
from tradeloop.app.manage import DaySummary, MinuteSource, manage_paper_day
from tradeloop.app.session import day_minutes
from tradeloop.clock import utc_now
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.market.session import CLOSE, OPEN
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.retry import only_transient


@task(retries=0, cache_policy=NO_CACHE)
def trade_paper_day(
    settings: Settings,
    day: date,
    speed: float,
    source: MinuteSource,
    agent: DayAgentConfig | None = None,
) -> DaySummary:
    """Trade the active paper deployments on `day` (the tick loop runs inside this task),
    with the agent's turns when `agent` is set."""
    options = agent.options(settings) if agent is not None else None
    return manage_paper_day(settings, day, speed=speed, source=source, agent=options)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def remember_day(settings: Settings, run_id: str, summary: DaySummary) -> list[StrategyRecord]:
    """One paper (or live) record per strategy of the day in strategy memory: its trades, P&L
    after costs and refusals, with the day's regime (a retry replaces the part, never adds
    to it)."""
    memory = stores.strategy_memory(settings)
    store = stores.deployment_store(settings)
    try:
        deployments = {d.id: d for d in store.deployments(include_retired=True)}
    finally:
        store.close()
    now = utc_now()
    records = []
    for strategy_id, name in summary.strategies:
        deployment = deployments.get(strategy_id)
        if deployment is None:
            continue  # a session of specs that are not deployments (tests, parity)
        regime, window = _day_context(settings, deployment.symbol, summary.day)
        trades = [t for t in summary.trades if t.strategy_id == strategy_id]
        refused = [r for r in summary.refusals if r.strategy_id == strategy_id]
        wins = sum(1 for t in trades if t.net_pnl > 0)
        records.append(
            StrategyRecord(
                run_id=run_id,
                evaluated_at=now,
                spec_id=deployment.spec_id,
                name=name,
                symbol=deployment.symbol,
                timeframe=deployment.timeframe,
                regime=regime,
                window_start=window[0],
                window_end=window[1],
                score=float(deployment.evidence.get("score", 0.0)),
                passed=True,
                reasons=tuple(r.reason for r in refused),
                metrics={
                    "trades": float(len(trades)),
                    "wins": float(wins),
                    "net_pnl": sum(t.net_pnl for t in trades),
                    "costs": sum(t.costs for t in trades),
                    "refused": float(len(refused)),
                },
                spec_json=deployment.spec_json,
                source=summary.mode,
            )
        )
    if records:
        memory.remember(run_id, records, part=f"{summary.mode}.{summary.day}")
    return records


def _day_context(
    settings: Settings, symbol: str, day: date
) -> tuple[str, tuple[datetime, datetime]]:
    """The day's regime and window from its stored minutes; a session traded over the live
    feed before the day is ingested has none stored yet: regime "unknown", the session hours."""
    try:
        minutes = day_minutes(settings, symbol, day)
    except NotFoundError:
        return "unknown", (ist_datetime(day, OPEN), ist_datetime(day, CLOSE))
    return classify_regime(minutes), (minutes["ts"][0], minutes["ts"][-1])


@task(retries=0, cache_policy=NO_CACHE)
def trade_live_session(settings: Settings, day: date | None) -> DaySummary:
    """Trade `day` (default today) over Dhan's live feed in the mode the settings allow (the
    tick loop runs inside this task; never retried by Prefect, like a replayed day)."""
    from tradeloop.app.live_session import manage_live_session

    return manage_live_session(settings, day)
