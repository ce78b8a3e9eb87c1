from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradeloop.storage.memory import (
    InMemoryStrategyMemory,
    ParquetStrategyMemory,
    StrategyMemory,
    StrategyRecord,
)

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def _record(
    spec_id: str,
    score: float,
    *,
    run: str = "r1",
    symbol: str = "NIFTY",
    when: datetime = T0,
    passed: bool | None = None,
) -> StrategyRecord:
    return StrategyRecord(
        run_id=run,
        evaluated_at=when,
        spec_id=spec_id,
        name=f"spec {spec_id}",
        symbol=symbol,
        timeframe="5m",
        regime="trending-up/normal-vol",
        window_start=T0 - timedelta(days=300),
        window_end=T0,
        score=score,
        passed=score >= 0.65 if passed is None else passed,
        reasons=() if score >= 0.65 else ("score below min_score 0.65",),
        metrics={"trades": 40.0, "win_rate": 0.5},
        spec_json='{"name": "x"}',
    )


@pytest.fixture(params=["memory", "parquet"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> StrategyMemory:
    if request.param == "memory":
        return InMemoryStrategyMemory()
    return ParquetStrategyMemory(tmp_path / "memory")


def test_best_ranks_by_score_and_round_trips_fields(memory: StrategyMemory) -> None:
    records = [_record("a", 0.4), _record("b", 0.7), _record("c", 0.66)]
    memory.remember("r1", records)
    best = memory.best(limit=2)
    assert [record.spec_id for record in best] == ["b", "c"]
    assert best[0] == records[1]


def test_remembering_a_run_twice_does_not_duplicate(memory: StrategyMemory) -> None:
    memory.remember("r1", [_record("a", 0.4)])
    memory.remember("r1", [_record("a", 0.4)])
    assert len(memory.history("a")) == 1


def test_latest_evaluation_stands_for_a_spec(memory: StrategyMemory) -> None:
    memory.remember("r1", [_record("a", 0.9, run="r1")])
    later = T0 + timedelta(days=7)
    memory.remember("r2", [_record("a", 0.2, run="r2", when=later)])
    assert [record.score for record in memory.best()] == [0.2]
    assert [record.run_id for record in memory.history("a")] == ["r1", "r2"]


def test_filters_by_symbol_and_passed(memory: StrategyMemory) -> None:
    memory.remember(
        "r1", [_record("a", 0.9, symbol="BANKNIFTY"), _record("b", 0.7), _record("c", 0.3)]
    )
    assert [r.spec_id for r in memory.best(symbol="nifty")] == ["b", "c"]
    assert [r.spec_id for r in memory.best(passed_only=True)] == ["a", "b"]


def test_empty_memory_answers_empty(memory: StrategyMemory) -> None:
    assert memory.best() == []
    assert memory.history("nope") == []


def test_a_paper_day_joins_the_history_and_leaves_the_leaderboard_to_research(
    memory: StrategyMemory,
) -> None:
    researched = _record("a", 0.7)
    paper = researched.model_copy(
        update={
            "run_id": "day",
            "evaluated_at": T0 + timedelta(days=1),
            "source": "paper",
            "metrics": {"trades": 2.0, "net_pnl": -1500.0},
        }
    )
    memory.remember("r1", [researched])
    memory.remember("day", [paper])
    assert memory.best() == [researched]
    assert [record.source for record in memory.history("a")] == ["backtest", "paper"]
