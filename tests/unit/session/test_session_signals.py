"""A session decides on each bar close exactly what the backtest's signals say for that bar.

`SessionSignals` compiles the spec on warm-up + today's minutes at each close of its timeframe;
the decisions of a replayed day must be, bar for bar, the entries of one batch compilation over
the whole frame, with the same levels (DESIGN: no second signal implementation).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.session_signals import Decision, SessionSignals, decision_at
from tradeloop.domain.strategy.spec import StrategySpec, load_spec
from tradeloop.errors import DataValidationError, SpecError

CANDLES = generate_market("NIFTY", days=9, start=date(2025, 3, 3), seed=4).candles
DAYS = CANDLES["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date()
LAST = DAYS.max()
WARMUP, TODAY = CANDLES.filter(DAYS < LAST), CANDLES.filter(DAYS == LAST)
SPECS = [
    load_spec("examples/strategies/nifty_orb_vwap_5m.json"),
    *random_specs(11, 6, "NIFTY", "5m"),
    *random_specs(12, 3, "NIFTY", "15m"),
    *random_specs(13, 3, "NIFTY", "1m"),
]


def replay(spec: StrategySpec) -> list[Decision]:
    session = SessionSignals(spec, WARMUP)
    found = [session.on_minute(TODAY.slice(i, 1)) for i in range(TODAY.height)]
    return [decision for decision in found if decision is not None]


def batch(spec: StrategySpec, decided: list[Decision]) -> list[Decision]:
    bars = CANDLES if spec.timeframe == "1m" else resample(CANDLES, spec.timeframe)
    signals = compile_spec(spec, bars)
    days = bars["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date()
    first = int((days < LAST).sum())
    entries = [bar for bar in range(first, bars.height) if signals.entry[bar]]
    closes = {d.bar_ts: d.decided_at for d in decided}
    return [
        decision_at(signals, bars, bar, closes.get(bars["ts"][bar], bars["ts"][bar]))
        for bar in entries
    ]


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_each_close_decides_what_the_batch_signals_say(spec: StrategySpec) -> None:
    decided = replay(spec)
    assert decided == batch(spec, decided)


def test_the_replayed_day_has_decisions_to_compare() -> None:
    assert sum(len(replay(spec)) for spec in SPECS) >= 5


def test_a_decision_measures_its_levels_from_the_decision_close() -> None:
    decision = next(d for spec in SPECS if spec.timeframe == "5m" for d in replay(spec))
    assert decision.stop == pytest.approx(decision.reference - decision.direction * decision.risk)
    assert decision.decided_at > decision.bar_ts
    assert (decision.decided_at - decision.bar_ts).total_seconds() == 5 * 60


def test_a_daily_spec_and_foreign_minutes_are_refused() -> None:
    daily = random_specs(3, 1, "NIFTY", "1d")[0]
    with pytest.raises(SpecError, match="daily bars"):
        SessionSignals(daily, WARMUP)
    session = SessionSignals(SPECS[0], WARMUP)
    other = TODAY.slice(0, 1).with_columns(pl.lit("BANKNIFTY").alias("symbol"))
    with pytest.raises(DataValidationError, match="NIFTY 1m candles"):
        session.on_minute(other)
