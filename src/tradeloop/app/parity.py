"""`parity`: one spec's trades on one day, from a paper session and from the backtest.

The paper session is a `TradingDay` of the spec alone on a fresh paper ledger
(`<data dir>/parity/<spec id>-<day>.sqlite`, kept for inspection), fed the stored minutes of the
day. The backtest runs the same spec over the same warm-up and the day, compiled once on all of
it, trading the day's bars only, sized as the paper session sizes (from `[risk] capital`, not
compounding). Both charge the same cost table and slippage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.app.session import day_minutes, paper_day, replay_minutes, warmup_minutes
from tradeloop.domain.backtest.engine import run_backtest
from tradeloop.domain.backtest.parity import ParityRow, ParityTrade, compare
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.resample import resample
from tradeloop.domain.positions.day import Refusal
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.settings import Settings
from tradeloop.storage.ledger import open_ledger


@dataclass(frozen=True)
class ParityReport:
    spec: StrategySpec
    day: date
    rows: list[ParityRow]
    refusals: list[Refusal]
    """The paper session's refused entries, with the risk manager's reasons."""
    decisions: int

    @property
    def matches(self) -> bool:
        return all(not row.differences for row in self.rows)


def parity(settings: Settings, spec: StrategySpec, day: date) -> ParityReport:
    """Run `spec` on `day` in paper and in the backtest, and pair their trades."""
    strategy_id = f"parity-{spec.id}"
    paper_trades, refusals, decisions = _paper(settings, spec, day, strategy_id)
    return ParityReport(
        spec, day, compare(paper_trades, _backtest(settings, spec, day)), refusals, decisions
    )


def _paper(
    settings: Settings, spec: StrategySpec, day: date, strategy_id: str
) -> tuple[list[ParityTrade], list[Refusal], int]:
    folder = settings.data_dir / "parity"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.id}-{day}.sqlite"
    path.unlink(missing_ok=True)
    ledger = open_ledger(f"sqlite:///{path}")
    try:
        trading, _ = paper_day(settings, day, [(strategy_id, spec)], ledger)
        replay_minutes(settings, trading)
        trades = [
            ParityTrade(
                entry_time=trade.entry_time,
                exit_time=trade.exit_time,
                direction=trade.direction,
                quantity=trade.quantity,
                entry_price=trade.entry_price,
                exit_price=trade.exit_price,
                exit_reason=trade.exit_reason.value,
                costs=trade.costs,
                net_pnl=trade.net_pnl,
            )
            for trade in sorted(ledger.trades(day), key=lambda t: t.entry_time)
            if trade.strategy_id == strategy_id
        ]
        return trades, trading.log.refusals, len(trading.log.decisions)
    finally:
        ledger.close()


def _backtest(settings: Settings, spec: StrategySpec, day: date) -> list[ParityTrade]:
    minutes = pl.concat(
        [warmup_minutes(settings, spec.symbol, day), day_minutes(settings, spec.symbol, day)],
        how="vertical",
    )
    bars = minutes if spec.timeframe == "1m" else resample(minutes, spec.timeframe)
    context = research_context(settings)
    config = context.backtest_config(spec.symbol, day).model_copy(update={"compounding": False})
    first = int((bars["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date() < day).sum())
    result = run_backtest(
        compile_spec(spec, bars), bars, config, stores.cost_table(settings), start=first
    )
    return [
        ParityTrade(
            entry_time=row["entry_time"],
            exit_time=row["exit_time"],
            direction=1 if row["direction"] == "long" else -1,
            quantity=row["quantity"],
            entry_price=row["entry_price"],
            exit_price=row["exit_price"],
            exit_reason=str(row["exit_reason"]),
            costs=row["costs"],
            net_pnl=row["net_pnl"],
        )
        for row in result.trades.iter_rows(named=True)
        if to_ist(row["entry_time"]).date() == day
    ]
