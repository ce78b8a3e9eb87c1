"""`tradeloop research best`: score, PSR, DSR, trials and every reason, as a table and as JSON."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tradeloop.app import stores
from tradeloop.cli import main
from tradeloop.settings import load_settings
from tradeloop.storage.memory import StrategyRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GATE = {
    "lockbox_days": 100.0,
    "lockbox_trades": 86.0,
    "lockbox_sharpe": 6.12,
    "lockbox_net_pnl": 91_000.0,
    "lockbox_return_pct": 9.1,
    "psr": 0.9999,
    "dsr": 0.9987,
    "trials": 247.0,
    "expected_max_sharpe": 2.57,
}


def _record(spec_id: str, score: float, passed: bool, gate: dict[str, float]) -> StrategyRecord:
    return StrategyRecord(
        run_id="r1",
        evaluated_at=T0,
        spec_id=spec_id,
        name=f"nifty_{spec_id}_5m",
        symbol="NIFTY",
        timeframe="5m",
        regime="choppy",
        window_start=T0 - timedelta(days=500),
        window_end=T0,
        score=score,
        passed=passed,
        reasons=() if passed else ("score 0.310 is below min_score = 0.500",),
        metrics={"trades": 217.0, "net_pnl": 178_705.0, "sharpe": 2.78, "sessions": 300.0},
        spec_json="{}",
        gate=gate,
    )


@pytest.fixture
def remembered() -> None:
    memory = stores.strategy_memory(load_settings())
    memory.remember("r1", [_record("edge", 0.625, True, GATE), _record("luck", 0.31, False, {})])


def _run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setattr(sys, "argv", ["tradeloop", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.usefixtures("remembered")
def test_best_shows_the_gate_numbers_and_the_reasons(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = _run(["research", "best"], monkeypatch, capsys)
    edge = next(line for line in out.splitlines() if "nifty_edge_5m" in line)
    for shown in ("0.625", "6.12", "1.00", "247", "PASS"):
        assert shown in edge
    assert "nifty_luck_5m: score 0.310 is below min_score = 0.500" in " ".join(out.split())


@pytest.mark.usefixtures("remembered")
def test_best_json_is_every_record_with_its_gate_for_scripts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records = json.loads(_run(["research", "best", "--json"], monkeypatch, capsys))
    assert [r["spec_id"] for r in records] == ["edge", "luck"]
    assert records[0]["passed"] is True and records[0]["gate"]["dsr"] == 0.9987
    assert records[0]["gate"]["trials"] == 247
    assert records[1]["gate"] == {} and records[1]["reasons"]


def test_best_json_writes_nan_as_null(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = stores.strategy_memory(load_settings())
    memory.remember("r1", [_record("nan", 0.6, False, {**GATE, "dsr": math.nan})])
    records = json.loads(_run(["research", "best", "--json"], monkeypatch, capsys))
    assert records[0]["gate"]["dsr"] is None
