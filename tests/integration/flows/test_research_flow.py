"""The data and research flows under a real (temporary) Prefect server."""

from __future__ import annotations

import shutil
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import tradeloop.domain
from tradeloop.app import stores
from tradeloop.app.session import last_decision_day
from tradeloop.domain.costs import BUNDLED_TABLES, CURRENT_VERSION
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import load_spec
from tradeloop.errors import NotFoundError, UserError
from tradeloop.flows.data import SynthParameters, synthesize_flow
from tradeloop.flows.manage import ManageParameters, manage_flow
from tradeloop.flows.research import ResearchParameters, research_flow
from tradeloop.settings import load_settings

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"


@pytest.mark.usefixtures("prefect_harness")
def test_synthesize_then_research_ranks_and_remembers_every_spec(tmp_path: Path) -> None:
    reports = synthesize_flow(SynthParameters(symbols=["NIFTY"], days=30, start=date(2025, 3, 3)))
    assert reports["NIFTY"].rows_inserted == 30 * 375
    # Upserting the same market again adds nothing.
    again = synthesize_flow(SynthParameters(symbols=["NIFTY"], days=30, start=date(2025, 3, 3)))
    assert again["NIFTY"].rows_inserted == 0
    settings = load_settings()
    assert stores.candle_store(settings).load("NIFTY", "1m").height == 30 * 375

    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for path in EXAMPLES.glob("nifty_*.json"):
        shutil.copy(path, spec_dir / path.name)
    parameters = ResearchParameters(
        symbols=["NIFTY"], spec_dir=str(spec_dir), random_count=3, folds=2, batch_size=4
    )
    result = research_flow(parameters)
    rows = result.leaderboard
    # Option specs are evaluated in the options they buy (synth stored an IV): all are ranked.
    specs = [load_spec(path) for path in spec_dir.glob("*.json")]
    specs += random_specs(7, 3, "NIFTY", "5m")
    assert any(spec.instrument.kind == "option" for spec in specs)
    assert {row.spec_id for row in rows} == {spec.id for spec in specs}
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
    assert [row.score for row in rows] == sorted((row.score for row in rows), reverse=True)
    # 30 sessions cannot give min_trades out-of-sample trades: nothing passes, and it says why.
    assert not any(row.passed for row in rows)
    assert all(row.reason for row in rows)
    remembered = stores.strategy_memory(settings).best(limit=100)
    assert {record.spec_id for record in remembered} == {row.spec_id for row in rows}
    # Remembered batch by batch, four specs at a time.
    assert (result.evaluated, result.reused) == (len(rows), 0)
    parts = [p for p in settings.memory_dir.glob("run=*.parquet") if ".gate" not in p.name]
    assert len(parts) == -(-len(rows) // 4)  # and a gate part when a spec reached the lockbox

    # The same run again: everything is in memory already, and the leaderboard is the same.
    again = research_flow(parameters)
    assert (again.evaluated, again.reused) == (0, len(rows))
    assert again.leaderboard == rows


@pytest.mark.usefixtures("prefect_harness")
def test_the_research_flow_gates_the_planted_edge_on_the_lockbox_and_remembers_it(
    tmp_path: Path,
) -> None:
    """Two years of the planted market: the targeting template passes the score gate on the
    research window, then the significance gate on the lockbox against every spec tried."""
    synthesize_flow(
        SynthParameters(symbols=["NIFTY"], days=500, start=date(2025, 1, 1), regime="planted")
    )
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    shutil.copy(EXAMPLES / "planted_edge_nifty_reversion_5m.json", spec_dir)
    parameters = ResearchParameters(
        symbols=["NIFTY"], spec_dir=str(spec_dir), random_count=60, batch_size=25
    )
    result = research_flow(parameters)
    rows = result.leaderboard
    planted = next(row for row in rows if row.name == "planted_edge_nifty_reversion_5m")
    assert planted.rank == 1 and planted.passed, planted.reason
    assert planted.trials == len(rows) and planted.dsr >= 0.95 and planted.psr >= 0.95
    assert [row.name for row in rows if row.passed] == [planted.name]

    best = stores.strategy_memory(load_settings()).best(limit=3, passed_only=True)
    assert [record.spec_id for record in best] == [planted.spec_id]
    assert best[0].gate["dsr"] == pytest.approx(planted.dsr)
    # Deployed to paper: the passing spec only, with the evidence it passed on.
    store = stores.deployment_store(load_settings())
    [deployment] = store.deployments()
    assert result.deployed == [deployment.id] and deployment.spec_id == planted.spec_id
    assert deployment.mode == "paper" and deployment.run_id  # the research run's id
    assert deployment.evidence["dsr"] == pytest.approx(planted.dsr)
    # Run again: nothing is evaluated twice, and the verdict is given again on the same trials.
    again = research_flow(parameters)
    assert again.evaluated == 0 and again.leaderboard[0].passed
    assert again.leaderboard[0].trials == planted.trials
    assert again.deployed == [] and len(store.deployments()) == 1  # already active
    store.close()

    # Manage a day of the lockbox in paper: the deployment trades it over the replayed feed,
    # and the day joins the spec's history in strategy memory (not its leaderboard place).
    day = last_decision_day(load_settings(), load_spec(EXAMPLES / f"{planted.name}.json"))
    assert day is not None
    summary = manage_flow(ManageParameters(day=day, source="feed"))
    assert summary.strategies == [(deployment.id, planted.name)] and summary.minutes == 375
    assert summary.trades, "the planted spec (no take profit) trades the day in paper"
    ledger = stores.ledger(load_settings())
    try:  # the ledger, its positions and the day's summary agree
        assert ledger.trades(day) == summary.trades
        closed = [p.position_id for p in ledger.positions(day) if p.state.is_final]
        assert sorted(closed) == sorted(t.position_id for t in summary.trades)
        assert not ledger.positions(day, active_only=True)
    finally:
        ledger.close()
    memory = stores.strategy_memory(load_settings())
    history = memory.history(planted.spec_id)
    assert history[-1].source == "paper" and history[-1].window_start.date() == day
    assert history[-1].metrics["trades"] == len(summary.trades)
    assert memory.best(limit=1)[0].source == "backtest"


@pytest.mark.usefixtures("prefect_harness")
def test_research_without_candles_fails_with_a_remedy(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="tradeloop data synth"):
        research_flow(ResearchParameters(symbols=["BANKNIFTY"], templates=["15m"]))


@pytest.mark.usefixtures("prefect_harness")
def test_research_with_a_missing_spec_dir_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NotFoundError, match="nope"):
        research_flow(ResearchParameters(symbols=["NIFTY"], spec_dir=str(missing)))


@pytest.mark.usefixtures("prefect_harness")
def test_the_research_flow_charges_the_configured_cost_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[execution] costs_table` is in force in the research flow, as in `tradeloop backtest`."""
    synthesize_flow(SynthParameters(symbols=["NIFTY"], days=30, start=date(2025, 3, 3)))
    parameters = ResearchParameters(symbols=["NIFTY"], templates=["5m"], folds=2)
    bundled = {row.spec_id: row for row in research_flow(parameters).leaderboard}

    # The default (newest bundled) table with one rate changed: the futures exchange charge, x10.
    table = tomllib.loads(BUNDLED_TABLE.read_text(encoding="utf-8"))
    table["kinds"]["futures"]["exchange_rate"] *= 10
    custom = tmp_path / "costs.toml"
    custom.write_text(_toml(table), encoding="utf-8")
    monkeypatch.setenv("TRADELOOP_EXECUTION__COSTS_TABLE", str(custom))
    charged = {row.spec_id: row for row in research_flow(parameters).leaderboard}

    traded = [spec_id for spec_id, row in bundled.items() if row.trades > 0]
    assert traded, "the templates must trade on 30 sessions for this test to mean anything"
    for spec_id in traded:
        assert charged[spec_id].net_pnl < bundled[spec_id].net_pnl


BUNDLED_TABLE = Path(tradeloop.domain.__file__).parent / "data" / BUNDLED_TABLES[CURRENT_VERSION]


def _toml(document: dict[str, Any]) -> str:
    """The cost table as TOML (its shape only: scalars, one level of [kinds.<kind>] tables)."""
    lines = [f"{key} = {_value(value)}" for key, value in document.items() if key != "kinds"]
    for kind, rates in document["kinds"].items():
        lines.append(f"\n[kinds.{kind}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in rates.items())
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


@pytest.mark.usefixtures("prefect_harness")
def test_research_skips_option_specs_without_an_iv_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings()
    market = generate_market("NIFTY", days=12, start=date(2025, 3, 3), seed=3)
    stores.candle_store(settings).write(market.candles)  # candles, and no IV stored
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for name in ("nifty_macd_puts_5m.json", "nifty_ema_cross_15m.json"):
        shutil.copy(EXAMPLES / name, spec_dir / name)
    parameters = ResearchParameters(symbols=["NIFTY"], spec_dir=str(spec_dir), folds=2)
    with caplog.at_level("WARNING"):
        result = research_flow(parameters)
    assert [row.name for row in result.leaderboard] == ["nifty_ema_cross_15m"]
    assert "skipped 1 option spec(s): no NIFTY implied volatility is stored" in caplog.text
    assert "tradeloop data synth --symbol NIFTY" in caplog.text
