"""A trading day of deployed strategies on a paper session: decisions become sized entries,
the position manager takes them to their exits, refusals keep their reasons."""

from __future__ import annotations

import itertools
from datetime import timedelta

import polars as pl
from session_kit import DAY, SECURITY, build_session

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.positions.day import Contract, Strategy, TradingDay
from tradeloop.domain.positions.model import PositionState
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.session_signals import SessionSignals
from tradeloop.domain.strategy.spec import StrategySpec

CALENDAR = NSECalendar.default()
DAY_TZ = IST


def _market() -> pl.DataFrame:
    start = DAY
    for _ in range(7):
        start = CALENDAR.previous_trading_day(start)
    candles = generate_market("NIFTY", days=8, start=start, seed=21).candles
    days = candles["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date()
    assert days.max() == DAY
    return candles


CANDLES = _market()
DAYS = CANDLES["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date()
WARMUP, TODAY = CANDLES.filter(DAYS < DAY), CANDLES.filter(DAYS == DAY)
CONTRACT = Contract("NIFTY-FUT", SECURITY, 65, 0.05)


def trade_day(specs: list[StrategySpec], **limits: object) -> tuple[TradingDay, object]:
    session = build_session(**limits)
    strategies = [
        Strategy(f"dep-{spec.id}", spec.name, "NIFTY", SessionSignals(spec, WARMUP), CONTRACT)
        for spec in specs
    ]
    day = TradingDay(
        DAY, strategies, session.manager, session.gateway.risk, session.clock, session.broker
    )
    for index in range(TODAY.height):
        day.on_minute("NIFTY", TODAY.slice(index, 1))
    return day, session


SPECS = [s for s in random_specs(11, 8, "NIFTY", "5m") if s.instrument.kind != "option"]


def test_decisions_become_positions_that_all_close_by_the_square_off() -> None:
    day, session = trade_day(SPECS)
    assert day.log.decisions, "the day must decide something to test"
    positions = session.store.positions(DAY)
    assert {p.position_id for p in positions} == set(day.log.opened) | {
        p.position_id for p in positions if p.state is PositionState.REJECTED
    }
    assert not session.store.positions(DAY, active_only=True)  # squared off at 15:15
    trades = session.store.trades(DAY)
    assert trades and all(t.strategy_id.startswith("dep-") for t in trades)
    for trade in trades:
        assert trade.quantity % CONTRACT.lot_size == 0
        assert trade.exit_time <= TODAY["ts"][-1] + timedelta(minutes=1)


def test_one_position_at_a_time_per_strategy() -> None:
    day, session = trade_day(SPECS)
    for strategy in day.strategies:
        spans = sorted(
            (t.entry_time, t.exit_time)
            for t in session.store.trades(DAY)
            if t.strategy_id == strategy.strategy_id
        )
        for (_, exit_time), (entry_time, _) in itertools.pairwise(spans):
            assert entry_time >= exit_time


def test_an_entry_the_budget_cannot_size_is_refused_with_the_reason() -> None:
    day, session = trade_day(SPECS, capital=10_000.0)
    assert day.log.decisions and not day.log.opened
    assert day.log.refusals
    assert all("zero lots" in refusal.reason for refusal in day.log.refusals)
    assert not session.store.positions(DAY)


def test_max_bars_held_closes_at_the_open_of_the_bar_after_it() -> None:
    specs = []
    for spec in SPECS:
        document = spec.model_dump(mode="json")
        document["exit"]["max_bars_held"] = 2
        document["name"] = f"{spec.name}_2_bars"
        specs.append(StrategySpec.from_document(document))
    day, session = trade_day(specs)
    reasons = [trade.exit_reason.value for trade in session.store.trades(DAY)]
    assert "max_bars" in reasons, reasons
    by_strategy = {s.strategy_id: s for s in day.strategies}
    for trade in session.store.trades(DAY):
        if trade.exit_reason.value != "max_bars":
            continue
        strategy = by_strategy[trade.strategy_id]
        bars = strategy.signals.spec.exit.max_bars_held
        minutes = strategy.signals.minutes
        assert trade.exit_time == trade.entry_time + timedelta(minutes=bars * minutes)


def test_a_5m_strategy_is_matched_on_5m_bars() -> None:
    spec = next(spec for spec in SPECS if spec.timeframe == "5m")
    _, session = trade_day([spec])
    for trade in session.store.trades(DAY):
        for moment in (trade.entry_time, trade.exit_time):
            minute = moment.astimezone(DAY_TZ).minute
            assert minute % 5 == 0, f"{moment} is not a 5m bar's open"
