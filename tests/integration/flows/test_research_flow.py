"""The data and research flows under a real (temporary) Prefect server."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tradeloop.domain.research import unsupported_reason
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import load_spec
from tradeloop.errors import NotFoundError, UserError
from tradeloop.flows.data import SynthParameters, synthesize_flow
from tradeloop.flows.research import ResearchParameters, research_flow
from tradeloop.settings import load_settings
from tradeloop.storage.candles import open_candle_store
from tradeloop.storage.memory import open_strategy_memory

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"


@pytest.mark.usefixtures("prefect_harness")
def test_synthesize_then_research_ranks_and_remembers_every_spec(tmp_path: Path) -> None:
    reports = synthesize_flow(SynthParameters(symbols=["NIFTY"], days=30, start=date(2025, 3, 3)))
    assert reports["NIFTY"].rows_inserted == 30 * 375
    # Upserting the same market again adds nothing.
    again = synthesize_flow(SynthParameters(symbols=["NIFTY"], days=30, start=date(2025, 3, 3)))
    assert again["NIFTY"].rows_inserted == 0
    settings = load_settings()
    assert open_candle_store(settings).load("NIFTY", "1m").height == 30 * 375

    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for path in EXAMPLES.glob("nifty_*.json"):
        shutil.copy(path, spec_dir / path.name)
    rows = research_flow(
        ResearchParameters(symbols=["NIFTY"], spec_dir=str(spec_dir), random_count=3, folds=2)
    )
    # Option specs are skipped (not backtestable yet) with a warning; the rest are all ranked.
    specs = [load_spec(path) for path in spec_dir.glob("*.json")]
    specs += random_specs(7, 3, "NIFTY", "5m")
    backtestable = [spec for spec in specs if unsupported_reason(spec) is None]
    assert len(backtestable) < len(specs)
    assert {row.spec_id for row in rows} == {spec.id for spec in backtestable}
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
    assert [row.score for row in rows] == sorted((row.score for row in rows), reverse=True)
    # 30 sessions cannot give min_trades out-of-sample trades: nothing passes, and it says why.
    assert not any(row.passed for row in rows)
    assert all(row.reason for row in rows)
    remembered = open_strategy_memory(settings).best(limit=100)
    assert {record.spec_id for record in remembered} == {row.spec_id for row in rows}


@pytest.mark.usefixtures("prefect_harness")
def test_research_without_candles_fails_with_a_remedy(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="tradeloop data synth"):
        research_flow(ResearchParameters(symbols=["BANKNIFTY"], templates=["15m"]))


@pytest.mark.usefixtures("prefect_harness")
def test_research_with_a_missing_spec_dir_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NotFoundError, match="nope"):
        research_flow(ResearchParameters(symbols=["NIFTY"], spec_dir=str(missing)))
