"""The shipped example specs fire a trader-sized number of entries on a synthetic year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.spec import load_spec

# The classic examples; planted_edge_*.json targets the planted synthetic market (docs/data.md)
# and is not one of them.
EXAMPLES = sorted(
    path
    for path in (Path(__file__).resolve().parents[3] / "examples" / "strategies").glob("*.json")
    if not path.name.startswith("planted_edge_")
)
SESSIONS = 250
MONTHS = 12


@pytest.fixture(scope="module")
def year_of_minutes() -> dict[str, pl.DataFrame]:
    return {
        symbol: generate_market(symbol, days=SESSIONS, seed=2025).candles
        for symbol in ("NIFTY", "BANKNIFTY")
    }


def test_there_are_four_to_six_varied_examples() -> None:
    specs = [load_spec(path) for path in EXAMPLES]
    assert 4 <= len(specs) <= 6
    assert {spec.symbol for spec in specs} == {"NIFTY", "BANKNIFTY"}
    assert {spec.direction for spec in specs} == {"long", "short"}
    assert len({spec.timeframe for spec in specs}) >= 2
    assert len({spec.exit.stop_loss.kind for spec in specs}) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_fires_on_several_days_a_month(
    path: Path, year_of_minutes: dict[str, pl.DataFrame]
) -> None:
    spec = load_spec(path)
    candles = resample(year_of_minutes[spec.symbol], spec.timeframe)
    signals = compile_spec(spec, candles)
    sessions = PriceArrays.from_candles(candles).session
    days_with_entries = len(np.unique(sessions[signals.entry]))
    assert 3 <= days_with_entries / MONTHS <= 18, days_with_entries
    assert signals.entry.sum() / MONTHS <= 40
