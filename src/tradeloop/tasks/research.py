"""Research tasks: load a window, find what memory already knows, evaluate and remember a batch,
gate the candidates on the lockbox, deploy the best that passed.

Each task asks the composition root for what the settings configure (`tradeloop.app`), so a
flow run on a worker uses that worker's settings and data directory. Specs and candles reach the
tasks wrapped in `prefect.utilities.annotations.quote` by the flow: Prefect then passes them
through as they are instead of walking every nested object of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.clock import utc_now
from tradeloop.domain.deploy import Deployment, choose_deployments
from tradeloop.domain.strategy.generation import Lineage
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.settings import Settings
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.retry import only_transient


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def load_minute_candles(
    settings: Settings, symbol: str, start: date | None, end: date | None
) -> pl.DataFrame:
    """1m candles of `symbol` from `start` to `end` (IST dates, both inclusive)."""
    return research_context(settings).minute_candles(symbol, start, end)


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def known_evaluations(
    settings: Settings,
    symbol: str,
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    folds: int | None,
) -> tuple[str, list[StrategyRecord]]:
    """The context key of this evaluation and what strategy memory already holds under it."""
    key = research_context(settings).context_key(symbol, candles, folds)
    known = stores.strategy_memory(settings).evaluated(key, [spec.id for spec in specs])
    return key, known


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def evaluate_batch(
    settings: Settings,
    run_id: str,
    part: str,
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    folds: int | None,
    context_key: str,
    lineage: Mapping[str, Lineage] | None = None,
) -> list[StrategyRecord]:
    """Walk `specs` forward, score them, and remember them at once as part `part` of the run
    (a retry replaces the part, never adds to it), each with its `lineage` (by spec id) when
    a generator gave one."""
    evaluations = research_context(settings).evaluate(specs, candles, folds)
    now = utc_now()
    known = lineage or {}
    records = [
        StrategyRecord.of(e, run_id, now, context_key, lineage=known.get(e.spec.id))
        for e in evaluations
    ]
    stores.strategy_memory(settings).remember(run_id, records, part=part)
    return records


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def gate_candidates(
    settings: Settings,
    run_id: str,
    symbol: str,
    candidates: Sequence[StrategyRecord],
    candles: pl.DataFrame,
    lockbox_start: datetime,
) -> list[StrategyRecord]:
    """Run the significance gate on the lockbox for `candidates` (records that passed the score
    gate), counting the trials strategy memory holds, and remember the verdicts."""
    if not candidates:
        return []
    memory = stores.strategy_memory(settings)
    specs = [StrategySpec.model_validate_json(record.spec_json) for record in candidates]
    timeframes: set[str] = {spec.timeframe for spec in specs}
    trials = {tf: memory.trial_stats(symbol, tf) for tf in timeframes}
    cards = research_context(settings).gate(specs, candles, lockbox_start, trials)
    now = utc_now()
    gated = [
        record.gated(card, run_id, now) for record, card in zip(candidates, cards, strict=True)
    ]
    memory.remember(run_id, gated, part=f"{symbol}.gate")
    return gated


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=only_transient, cache_policy=NO_CACHE)
def deploy_passing(
    settings: Settings, run_id: str, records: Sequence[StrategyRecord]
) -> list[Deployment]:
    """Deploy to paper the best `[deploy] top_k` of `records` that passed the gate, skipping
    specs deployed by earlier runs, with this run's id and each one's evidence.

    Returns the deployments this run made. A second call for the same run (a Prefect retry,
    even after a partial first attempt) chooses the same specs, creates only what is missing
    and returns the same deployments.
    """
    store = stores.deployment_store(settings)
    try:
        everything = store.deployments(include_retired=True)
        earlier = [deployment for deployment in everything if deployment.run_id != run_id]
        ours = {d.spec_id: d for d in everything if d.run_id == run_id}
        chosen = choose_deployments(records, settings.deploy.top_k, earlier)
        now = utc_now()
        made = []
        for record in chosen:
            done = ours.get(record.spec_id)  # deployed by an earlier attempt of this run
            if done is None:
                done = store.add(record, run_id=run_id, mode=settings.deploy.mode, at=now)
            made.append(done)
        return made
    finally:
        store.close()
