"""Evaluate many strategy specs on one symbol's candles: compile, walk forward, score, gate.

This is the evaluate → backtest → score part of the loop as pure functions, so the research
flow, the CLI and tests all run the same code. Specs are grouped by timeframe: each group is
resampled once, compiled sharing one indicator cache, and walked forward in one batch kernel call.
`split_lockbox` holds the last sessions out of all of that; `gate_specs` judges the score gate's
candidates on them (`tradeloop.domain.backtest.gate`); `rank` orders the leaderboard.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from tradeloop.domain.backtest.batch import run_batch
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.gate import GateCard, TrialStats, significance_gate
from tradeloop.domain.backtest.scoring import ScoreCard, ScoringConfig, score_walk_forward
from tradeloop.domain.backtest.walkforward import (
    WalkForwardMode,
    WalkForwardResult,
    run_walk_forward_batch,
)
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.market.resample import resample
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import DataValidationError, SpecError


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One spec's walk-forward on one symbol's window, its score and the window's regime."""

    spec: StrategySpec
    walk_forward: WalkForwardResult
    score: ScoreCard
    regime: str
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One strategy on the leaderboard: its research-window numbers (walk-forward out of
    sample: score, trades … sharpe) and, when it reached the lockbox, the gate's numbers."""

    rank: int
    name: str
    spec_id: str
    symbol: str
    timeframe: str
    score: float
    passed: bool
    trades: int
    win_rate_pct: float
    profit_factor: float
    net_pnl: float
    return_pct: float
    max_drawdown_pct: float
    sharpe: float
    reason: str
    lockbox_sharpe: float = math.nan
    lockbox_trades: int = 0
    psr: float = math.nan
    dsr: float = math.nan
    trials: int = 0


@dataclass(frozen=True)
class Lockbox:
    """A window cut in two: the research window (generation, ranking) and the lockbox after it
    (the significance gate only).

    Attributes:
        research: the candles of every session before the lockbox.
        start: the first bar time of the lockbox (UTC); None when the window is too short to
            hold one back (fewer than two sessions).
        sessions: how many sessions the lockbox holds.
    """

    research: pl.DataFrame
    start: datetime | None
    sessions: int


def split_lockbox(candles: pl.DataFrame, fraction: float) -> Lockbox:
    """Hold out the last `fraction` of the candles' sessions (at least one, rounded to the
    nearest session) as the lockbox; the sessions before it are the research window."""
    days = candles["ts"].dt.convert_time_zone(str(IST)).dt.date()
    sessions = days.unique().sort()
    if sessions.len() < 2:
        return Lockbox(research=candles, start=None, sessions=0)
    held = min(max(1, round(sessions.len() * fraction)), sessions.len() - 1)
    first = sessions[sessions.len() - held]
    start = candles.filter(days >= first)["ts"].min()
    return Lockbox(
        research=candles.filter(pl.col("ts") < start),
        start=start,  # type: ignore[arg-type]
        sessions=held,
    )


def gate_specs(
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    lockbox_start: datetime,
    config: BacktestConfig,
    cost_table: CostTable,
    scoring: ScoringConfig,
    trials: Mapping[str, TrialStats],
) -> list[GateCard]:
    """The significance gate of each spec, on the sessions from `lockbox_start` on.

    Signals are compiled on all of `candles` (indicators only look back, so the lockbox bars
    see the history a live run would); trades and returns are counted in the lockbox only.
    `trials` maps each spec's timeframe to the strategies tried on it.
    """
    cards: dict[str, GateCard] = {}
    by_timeframe: dict[str, list[StrategySpec]] = defaultdict(list)
    for spec in specs:
        by_timeframe[spec.timeframe].append(spec)
    for timeframe, group in by_timeframe.items():
        bars = candles if timeframe == "1m" else resample(candles, timeframe)
        first = bars["ts"].search_sorted(lockbox_start, side="left")
        results = run_batch(compile_many(group, bars), bars, config, cost_table, start=first)
        for spec, result in zip(group, results, strict=True):
            cards[spec.id] = significance_gate(result, trials[timeframe], scoring)
    return [cards[spec.id] for spec in specs]


def unsupported_reason(spec: StrategySpec) -> str | None:
    """Why the backtester cannot test `spec` yet, or None when it can."""
    if spec.instrument.kind == "option":
        return (
            f"spec {spec.name!r} trades options: the backtester prices index and futures trades "
            'only for now; use {"kind": "index"} or {"kind": "future"}'
        )
    return None


def evaluate_specs(
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    config: BacktestConfig,
    scoring: ScoringConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
) -> list[Evaluation]:
    """Walk every spec forward on `candles` (1m bars of the specs' symbol) and score it.

    Every fill is charged from `cost_table`; `folds` walk-forward folds are scored out of sample.
    """
    if candles.is_empty():
        raise DataValidationError(
            "no candles in the research window: synthesize or import data first "
            "(`tradeloop data synth --symbol NIFTY`)"
        )
    symbols = candles["symbol"].unique().to_list()
    wrong = [spec.name for spec in specs if spec.symbol not in symbols]
    if wrong:
        raise DataValidationError(
            f"specs {wrong} trade another symbol than the candles ({symbols}): "
            "evaluate each symbol's specs on its own candles"
        )
    for spec in specs:
        reason = unsupported_reason(spec)
        if reason is not None:
            raise SpecError(reason)
    regime = classify_regime(candles)
    window_start, window_end = candles["ts"].min(), candles["ts"].max()
    by_timeframe: dict[str, list[StrategySpec]] = defaultdict(list)
    for spec in specs:
        by_timeframe[spec.timeframe].append(spec)
    evaluations: list[Evaluation] = []
    for timeframe, group in by_timeframe.items():
        bars = candles if timeframe == "1m" else resample(candles, timeframe)
        signals = compile_many(group, bars)
        results = run_walk_forward_batch(signals, bars, config, cost_table, folds=folds, mode=mode)
        for spec, result in zip(group, results, strict=True):
            evaluations.append(
                Evaluation(
                    spec=spec,
                    walk_forward=result,
                    score=score_walk_forward(result, scoring),
                    regime=regime,
                    window_start=window_start,  # type: ignore[arg-type]
                    window_end=window_end,  # type: ignore[arg-type]
                )
            )
    return evaluations


def evaluation_context_key(
    candles: pl.DataFrame,
    config: BacktestConfig,
    scoring: ScoringConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
) -> str:
    """A digest of everything but the spec that decides an evaluation: the candles' every value,
    the backtest config, the scoring, the cost table, the folds and the walk-forward mode.

    Two evaluations of one spec with the same key give the same result, so a research run that
    finds a spec remembered under its key need not evaluate it again.
    """
    digest = hashlib.sha256()
    for name in ("ts", "open", "high", "low", "close", "volume"):
        digest.update(candles[name].to_physical().to_numpy().tobytes())
    settings = {
        "config": config.model_dump(mode="json"),
        "scoring": scoring.model_dump(mode="json"),
        "costs": cost_table.model_dump(mode="json"),
        "folds": folds,
        "mode": mode,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:20]


def rank(rows: Sequence[LeaderboardRow]) -> list[LeaderboardRow]:
    """Rank by score, then by out-of-sample net P&L; ties broken by spec id for stability."""
    ordered = sorted(rows, key=lambda row: (-row.score, -_finite(row.net_pnl), row.spec_id))
    return [replace(row, rank=place) for place, row in enumerate(ordered, start=1)]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
