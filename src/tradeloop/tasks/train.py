"""Train tasks: what to re-evaluate, the newest research window, the re-evaluation (remembered
as a new part of the run), and the retirement of deployments that no longer pass.

Specs and candles reach the tasks wrapped in `quote` by the flow (see `tasks.research`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.app.train import Reevaluation, reevaluate
from tradeloop.clock import utc_now
from tradeloop.domain.deploy import Deployment
from tradeloop.domain.research import split_lockbox
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.retry import only_transient


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def active_deployments(settings: Settings) -> list[Deployment]:
    """Every active deployment, paper and live."""
    store = stores.deployment_store(settings)
    try:
        return store.deployments()
    finally:
        store.close()


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def remembered_specs(settings: Settings, limit: int) -> list[str]:
    """The spec JSON of the `limit` best research evaluations strategy memory holds."""
    if limit == 0:
        return []
    return [record.spec_json for record in stores.strategy_memory(settings).best(limit=limit)]


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def research_window(
    settings: Settings, symbol: str, start: date | None, end: date | None
) -> pl.DataFrame | None:
    """The research window of `symbol`'s stored 1m candles from `start` to `end` (the lockbox,
    the last `lockbox_fraction` of the sessions, held out as the research flow does); None when
    nothing is stored for it there."""
    try:
        candles = research_context(settings).minute_candles(symbol, start, end)
    except NotFoundError:
        return None
    research = split_lockbox(candles, settings.strategy.lockbox_fraction).research
    return research if research.height else None


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def reevaluate_specs(
    settings: Settings,
    run_id: str,
    symbol: str,
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    folds: int | None,
) -> list[Reevaluation]:
    """Re-evaluate `specs` on `candles` and remember the evaluations as part `<symbol>.train` of
    the run (a retry replaces the part); the outcome of every spec, failures included."""
    context = research_context(settings)
    evaluations, outcomes = reevaluate(context, specs, candles, folds)
    key = context.context_key(symbol, candles, folds)
    now = utc_now()
    records = [StrategyRecord.of(e, run_id, now, key) for e in evaluations]
    stores.strategy_memory(settings).remember(run_id, records, part=f"{symbol}.train")
    return outcomes


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def retire_deployments(settings: Settings, reasons: dict[str, str]) -> list[Deployment]:
    """Retire each deployment of `reasons` (id → reason) that is still active; a retry after a
    partial attempt retires only the rest, and returns the same deployments."""
    store = stores.deployment_store(settings)
    try:
        retired = []
        now = utc_now()
        for deployment_id, reason in reasons.items():
            current = store.get(deployment_id)
            if current is None:
                raise NotFoundError(f"deployment {deployment_id} is gone from the store")
            if current.active:
                current = store.retire(deployment_id, reason, now)
            retired.append(current)
        return retired
    finally:
        store.close()
