"""One research run's records read back from strategy memory: its leaderboard (the gate's
verdict over the evaluation it judged, reused evaluations included) and the list of runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradeloop.storage.memory import (
    InMemoryStrategyMemory,
    ParquetStrategyMemory,
    RunSummary,
    StrategyMemory,
    StrategyRecord,
)

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def _record(spec_id: str, score: float, *, run: str, when: datetime = T0) -> StrategyRecord:
    return StrategyRecord(
        run_id=run,
        evaluated_at=when,
        spec_id=spec_id,
        name=f"spec {spec_id}",
        symbol="NIFTY",
        timeframe="5m",
        regime="trending-up/normal-vol",
        window_start=T0 - timedelta(days=300),
        window_end=T0,
        score=score,
        passed=False,
        reasons=("score below min_score",),
        metrics={"trades": 40.0},
        spec_json='{"name": "x"}',
    )


def _gated(record: StrategyRecord, *, passed: bool, when: datetime) -> StrategyRecord:
    return record.model_copy(
        update={
            "evaluated_at": when,
            "passed": passed,
            "reasons": () if passed else ("DSR 0.41 < 0.95",),
            "gate": {"dsr": 0.97 if passed else 0.41, "trials": 3.0},
        }
    )


@pytest.fixture(params=["memory", "parquet"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> StrategyMemory:
    if request.param == "memory":
        return InMemoryStrategyMemory()
    return ParquetStrategyMemory(tmp_path / "memory")


def test_a_runs_records_are_its_latest_per_spec_with_the_gate_over_the_evaluation(
    memory: StrategyMemory,
) -> None:
    a, b, c = _record("a", 0.7, run="r1"), _record("b", 0.3, run="r1"), _record("c", 0.6, run="r1")
    memory.remember("r1", [a, b], part="NIFTY.00000")
    memory.remember("r1", [c], part="NIFTY.00001")
    later = T0 + timedelta(minutes=5)
    memory.remember(
        "r1",
        [_gated(a, passed=True, when=later), _gated(c, passed=False, when=later)],
        part="NIFTY.gate",
    )
    memory.remember("r0", [_record("z", 0.9, run="r0")])  # another run is not this one's

    records = memory.run_records("r1")
    assert [(r.spec_id, r.passed) for r in records] == [("a", True), ("c", False), ("b", False)]
    assert records[0].gate["dsr"] == 0.97 and records[1].reasons == ("DSR 0.41 < 0.95",)


def test_a_gate_verdict_at_the_same_instant_stands_over_the_evaluation(
    memory: StrategyMemory,
) -> None:
    evaluation = _record("a", 0.7, run="r1")
    memory.remember("r1", [evaluation], part="NIFTY.00000")
    memory.remember("r1", [_gated(evaluation, passed=True, when=T0)], part="NIFTY.gate")
    [record] = memory.run_records("r1")
    assert record.passed and record.gate


def test_a_run_reads_back_the_evaluations_it_reused_each_stored_once(
    memory: StrategyMemory,
) -> None:
    first, regated = _record("a", 0.4, run="r1"), _record("c", 0.7, run="r1")
    memory.remember("r1", [first, regated], part="NIFTY.00000")
    later = T0 + timedelta(days=1)
    memory.remember("r2", [_record("b", 0.5, run="r2", when=later)], part="NIFTY.00000")
    verdict = _gated(regated, passed=True, when=later).model_copy(update={"run_id": "r2"})
    memory.remember("r2", [verdict], part="NIFTY.gate")
    # r2 ranked a and c as r1 left them; it judged c on the lockbox again
    memory.remember_reused("r2", [first, regated], at=later + timedelta(minutes=1))

    records = memory.run_records("r2")
    assert [(r.spec_id, r.run_id, r.passed) for r in records] == [
        ("c", "r2", True),
        ("b", "r2", False),
        ("a", "r1", False),
    ]
    assert records[2] == first
    assert [r.spec_id for r in memory.run_records("r1")] == ["c", "a"]  # r1 unchanged
    assert len(memory.history("a")) == 1  # noted, not stored again
    assert memory.best(limit=5)[0].passed  # c's latest is r2's verdict


def test_noting_a_runs_reuse_again_replaces_the_note(memory: StrategyMemory) -> None:
    first = _record("a", 0.4, run="r1")
    memory.remember("r1", [first, _record("b", 0.3, run="r1")])
    memory.remember_reused("r2", [first], at=T0)
    memory.remember_reused("r2", [first], at=T0)
    assert [r.spec_id for r in memory.run_records("r2")] == ["a"]


def test_an_unknown_run_has_no_records(memory: StrategyMemory) -> None:
    memory.remember("r1", [_record("a", 0.4, run="r1")])
    assert memory.run_records("nope") == []


def test_paper_records_are_not_a_runs_leaderboard(memory: StrategyMemory) -> None:
    paper = _record("a", 0.4, run="p1").model_copy(update={"source": "paper"})
    memory.remember("p1", [paper], part="paper.2025-06-02")
    assert memory.run_records("p1") == []
    assert memory.runs() == []


def test_runs_lists_each_run_latest_first_with_its_specs_and_passes(
    memory: StrategyMemory,
) -> None:
    first = _record("a", 0.7, run="r1")
    memory.remember("r1", [first, _record("b", 0.3, run="r1")])
    later = T0 + timedelta(days=1)
    evaluation = _record("c", 0.7, run="r2", when=later)
    memory.remember("r2", [evaluation], part="NIFTY.00000")
    gate_time = later + timedelta(minutes=1)
    memory.remember("r2", [_gated(evaluation, passed=True, when=gate_time)], part="NIFTY.gate")
    reused_at = later + timedelta(minutes=2)
    memory.remember_reused("r3", [first], at=reused_at)  # a run that evaluated nothing new
    assert memory.runs() == [
        RunSummary("r3", reused_at, specs=1, passed=0),
        RunSummary("r2", gate_time, specs=1, passed=1),
        RunSummary("r1", T0, specs=2, passed=0),
    ]
