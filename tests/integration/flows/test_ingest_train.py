"""The nightly flows: ingest extends the candles, train retires what no longer passes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from support.dhan_charts import DhanChartsServer
from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.research import split_lockbox
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import load_spec
from tradeloop.flows.data import SynthParameters, synthesize_flow
from tradeloop.flows.ingest import IngestParameters, ingest_flow
from tradeloop.flows.train import TrainParameters, train_flow
from tradeloop.settings import load_settings
from tradeloop.storage.candles import InMemoryCandleStore
from tradeloop.storage.memory import StrategyRecord
from tradeloop.tasks.ingest import extend_synthetic

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"


def _last_session(frame: pl.DataFrame) -> date:
    return to_ist(frame["ts"][-1]).date()


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_extends_the_synthetic_market_by_the_missing_sessions_and_is_idempotent() -> None:
    synthesize_flow(SynthParameters(symbols=["NIFTY"], days=20, start=date(2025, 12, 1)))
    settings = load_settings()
    store, calendar = stores.candle_store(settings), stores.calendar(settings)
    stored = store.load("NIFTY", "1m")
    last = _last_session(stored)

    # Two nights: up to 2026-01-05, then up to 2026-01-09.
    first = ingest_flow(IngestParameters(symbols=["NIFTY"], until=date(2026, 1, 5)))
    second = ingest_flow(IngestParameters(symbols=["NIFTY"], until=date(2026, 1, 9)))
    missing = calendar.trading_days(last + timedelta(days=1), date(2026, 1, 9))
    assert first["NIFTY"].source == second["NIFTY"].source == "synthetic"
    assert first["NIFTY"].sessions_added + second["NIFTY"].sessions_added == len(missing)
    assert first["NIFTY"].last_session == max(d for d in missing if d <= date(2026, 1, 5))
    assert second["NIFTY"].last_session == date(2026, 1, 9)
    assert second["NIFTY"].rows_inserted == second["NIFTY"].sessions_added * 375

    extended = store.load("NIFTY", "1m")
    assert extended.height == stored.height + len(missing) * 375
    # The stored days are untouched, and the first new session opens at the last stored close.
    assert extended.head(stored.height).equals(stored)
    assert extended["open"][stored.height] == pytest.approx(stored["close"][-1])
    # The IV of the new sessions is stored too (option specs are priced from it).
    iv = stores.volatility_store(settings).load("NIFTY")
    assert iv["day"].max() == date(2026, 1, 9)

    # Path independent: the two nights give the bytes one ingest of both gives.
    fresh = InMemoryCandleStore(calendar)
    fresh.write(stored)
    at_once, _ = extend_synthetic(
        fresh, calendar, "NIFTY", missing, seed=7, regime="null", edge_strength=0.0
    )
    assert extended.tail(at_once.height).equals(at_once.select(extended.columns))

    # Idempotent: nothing is missing any more.
    again = ingest_flow(IngestParameters(symbols=["NIFTY"], until=date(2026, 1, 9)))
    assert again["NIFTY"].sessions_added == 0 and again["NIFTY"].rows_inserted == 0
    assert store.load("NIFTY", "1m").height == extended.height


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_fetches_the_missing_sessions_from_dhan_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with DhanChartsServer(access_token="TOKEN-SECRET-123", client_id="1000000007") as server:
        monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", "1000000007")
        monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", "TOKEN-SECRET-123")
        monkeypatch.setenv("TRADELOOP_DHAN_BASE_URL", server.base_url)
        parameters = IngestParameters(symbols=["NIFTY"], days_back=10, until=date(2026, 1, 9))
        first = ingest_flow(parameters)
        asked = len(server.requests)
        again = ingest_flow(parameters)
        assert len(server.requests) == asked  # nothing is missing: nothing is asked for
    calendar = stores.calendar(load_settings())
    sessions = calendar.trading_days(date(2025, 12, 31), date(2026, 1, 9))
    assert first["NIFTY"].source == "dhan" and asked >= 1
    assert first["NIFTY"].sessions_added == len(sessions)
    assert first["NIFTY"].last_session == date(2026, 1, 9)
    assert again["NIFTY"].sessions_added == 0 and again["NIFTY"].rows_inserted == 0


@pytest.mark.usefixtures("prefect_harness")
def test_train_retires_a_deployment_that_no_longer_passes_and_keeps_one_that_does() -> None:
    """On a year of the planted market the planted spec still passes the score gate; a random
    spec does not, and its deployment is retired with the numbers that decided it."""
    synthesize_flow(
        SynthParameters(symbols=["NIFTY"], days=250, start=date(2025, 1, 1), regime="planted")
    )
    settings = load_settings()
    planted = load_spec(EXAMPLES / "planted_edge_nifty_reversion_5m.json")
    weak = next(s for s in random_specs(7, 8, "NIFTY", "5m") if s.instrument.kind != "option")
    # Deployed by an earlier research run (on whatever evidence it had then).
    context = research_context(settings)
    candles = context.minute_candles("NIFTY", None, None)
    research = split_lockbox(candles, settings.strategy.lockbox_fraction).research
    at = datetime(2025, 12, 1, tzinfo=UTC)
    store = stores.deployment_store(settings)
    deployed = {
        e.spec.id: store.add(
            StrategyRecord.of(e, "research-0", at), run_id="r", mode="paper", at=at
        )
        for e in context.evaluate([planted, weak], research)
    }

    result = train_flow(TrainParameters(top=5))

    scores = {outcome.spec_id: outcome for outcome in result.reevaluated}
    assert set(scores) == {planted.id, weak.id}  # memory held nothing else
    assert scores[planted.id].passed and not scores[weak.id].passed
    weak_deployment, planted_deployment = deployed[weak.id], deployed[planted.id]
    assert result.kept == [planted_deployment.id]
    assert list(result.retired) == [weak_deployment.id]
    reason = result.retired[weak_deployment.id]
    first, last = _last_session(research.head(1)), _last_session(research)
    score = scores[weak.id].score
    assert score is not None and score < settings.strategy.min_score
    assert reason.startswith(
        f"train {to_ist(datetime.now(UTC)).date()}: score {score:.3f} below min_score 0.5 "
        f"on {first}..{last}"
    )
    assert [d.id for d in store.deployments()] == [planted_deployment.id]
    retired = store.get(weak_deployment.id)
    assert retired is not None and retired.retire_reason == reason
    # The new evaluations are remembered: memory ranks each spec by its newest score.
    best = stores.strategy_memory(settings).best(limit=5)
    assert {record.spec_id: record.score for record in best} == {
        planted.id: pytest.approx(scores[planted.id].score),
        weak.id: pytest.approx(score),
    }

    # A second run re-evaluates the same specs and retires nothing more.
    again = train_flow(TrainParameters(top=5))
    assert again.retired == {} and again.kept == [planted_deployment.id]
    store.close()
