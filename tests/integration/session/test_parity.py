"""`tradeloop parity`: paper and the backtest of one spec on one stored day, paired.

Pinned for the example strategies and a random sample of both indices on several days: every
trade is taken at the same bar, at the same price, in the same size and direction, and a trade
on one side only is explained by a refusal of the risk manager; every trade both take matches in
full unless the day halted on its loss limit. Among them: an ATR trail (its distance moving
with each bar), a break-even stop (beyond the entry by the round trip's charges and slippage)
and specs with no take profit (in paper their stop rests alone at the broker).
"""

from __future__ import annotations

import glob
import json
from datetime import date
from pathlib import Path

import pytest

from tradeloop.app import stores
from tradeloop.app.parity import parity
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import StrategySpec, load_spec
from tradeloop.settings import load_settings

DAYS = [date(2025, 3, 24), date(2025, 3, 25), date(2025, 3, 26)]


def _specs() -> list[StrategySpec]:
    examples = [
        load_spec(path)
        for path in sorted(glob.glob("examples/strategies/*.json"))
        if not Path(path).name.startswith("planted_edge")  # stored data has no planted edge
    ]
    sampled = random_specs(11, 14, "NIFTY", "5m") + random_specs(12, 6, "BANKNIFTY", "5m")
    # Every other sampled spec moves its stop to break-even after 0.5 R.
    sampled = [_break_even(spec) if i % 2 else spec for i, spec in enumerate(sampled)]
    return [spec for spec in [*examples, *sampled] if spec.instrument.kind != "option"]


def _break_even(spec: StrategySpec) -> StrategySpec:
    document = json.loads(spec.canonical_json())
    document["exit"]["break_even_after_r"] = 0.5
    document["name"] += "_be"
    return StrategySpec.model_validate(document)


@pytest.fixture
def stored() -> None:
    for symbol in ("NIFTY", "BANKNIFTY"):
        market = generate_market(symbol, days=40, start=date(2025, 2, 3), seed=21)
        stores.candle_store(load_settings()).write(market.candles)


@pytest.mark.usefixtures("stored")
def test_paper_and_the_backtest_over_the_examples_and_a_sample() -> None:
    """One pass over the specs and days (each report trades the day twice), three checks."""
    settings = load_settings()
    paired = compared = squared = stop_only = atr_trail = break_even = 0
    symbols_paired: set[str] = set()
    for spec in _specs():
        for day in DAYS:
            report = parity(settings, spec, day)
            for row in report.rows:
                if row.paper is None and row.backtest is not None:
                    # The backtest took it; paper was refused (or still held an earlier one).
                    assert report.refusals or any(
                        r.paper is not None and r.paper.exit_time > row.backtest.entry_time
                        for r in report.rows
                    ), (spec.name, day, row)
                if row.paper is None or row.backtest is None:
                    continue
                # 1. The same entries: bar, price, size, direction.
                paired += 1
                symbols_paired.add(spec.symbol)
                ours, theirs = row.paper, row.backtest
                assert (ours.direction, ours.quantity) == (theirs.direction, theirs.quantity)
                assert ours.entry_price == pytest.approx(theirs.entry_price, abs=1e-6)
                # 2. In full, unless the day reached the daily loss limit (paper flattened it:
                # `halted`), whatever moved the stop: an ATR trail, break-even.
                if ours.exit_reason != "halted":
                    compared += 1
                    trail = spec.exit.trailing_stop
                    atr = trail is not None and trail.kind == "atr"
                    atr_trail += atr and ours.exit_reason == "trailing_stop"
                    break_even += ours.exit_reason == "break_even_stop"
                    assert not row.differences, (spec.name, day, row)
                # Paper trades a spec with no take profit too (its stop rests alone).
                stop_only += spec.exit.take_profit is None and not row.differences
                # 3. A trade held to the square-off matches in full whatever its rules.
                if ours.exit_reason == theirs.exit_reason == "square_off":
                    squared += 1
                    assert not row.differences, (spec.name, day, row)
    assert paired >= 10 and compared >= 5 and squared >= 1 and stop_only >= 3
    assert atr_trail >= 3 and break_even >= 3
    assert {"NIFTY", "BANKNIFTY"} <= symbols_paired
