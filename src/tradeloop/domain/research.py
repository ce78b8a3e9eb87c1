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
from tradeloop.domain.backtest.engine import market_arrays
from tradeloop.domain.backtest.gate import GateCard, TrialStats, significance_gate
from tradeloop.domain.backtest.options import OptionBacktest
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.backtest.scoring import ScoreCard, ScoringConfig, score_walk_forward
from tradeloop.domain.backtest.walkforward import (
    BacktestParts,
    WalkForwardMode,
    WalkForwardResult,
    walk_forward,
)
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.regime import classify_regime
from tradeloop.domain.market.resample import resample
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.rules import OptionInstrument
from tradeloop.domain.strategy.signals import Signals
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
    options: OptionBacktest | None = None,
) -> list[GateCard]:
    """The significance gate of each spec, on the sessions from `lockbox_start` on.

    Signals are compiled on all of `candles` (indicators only look back, so the lockbox bars
    see the history a live run would); trades and returns are counted in the lockbox only.
    `trials` maps each spec's timeframe to the strategies tried on it; option specs are
    backtested by `options`.
    """
    _check_options(specs, options)
    cards: dict[str, GateCard] = {}
    for timeframe, group, bars in _by_timeframe(specs, candles):
        first = bars["ts"].search_sorted(lockbox_start, side="left")
        backtest = _backtester(group, compile_many(group, bars), bars, config, cost_table, options)
        results = backtest(first, bars.height, False)
        for spec, result in zip(group, results, strict=True):
            cards[spec.id] = significance_gate(result, trials[timeframe], scoring)
    return [cards[spec.id] for spec in specs]


def _by_timeframe(
    specs: Sequence[StrategySpec], candles: pl.DataFrame
) -> list[tuple[str, list[StrategySpec], pl.DataFrame]]:
    """The specs by timeframe, index specs before option specs in each, with their bars."""
    by_timeframe: dict[str, list[StrategySpec]] = defaultdict(list)
    for spec in sorted(specs, key=_is_option):
        by_timeframe[spec.timeframe].append(spec)
    return [
        (timeframe, group, candles if timeframe == "1m" else resample(candles, timeframe))
        for timeframe, group in by_timeframe.items()
    ]


def _is_option(spec: StrategySpec) -> bool:
    return isinstance(spec.instrument, OptionInstrument)


def _check_options(specs: Sequence[StrategySpec], options: OptionBacktest | None) -> None:
    if options is None and any(_is_option(spec) for spec in specs):
        names = [spec.name for spec in specs if _is_option(spec)]
        raise SpecError(
            f"specs {names} trade options, and no option model was given to price them: "
            "evaluate them through the research context (it builds one from the [options] "
            'settings and the stored IV), or use {"kind": "index"} or {"kind": "future"}'
        )


def _backtester(
    group: Sequence[StrategySpec],
    signals: Sequence[Signals],
    bars: pl.DataFrame,
    config: BacktestConfig,
    cost_table: CostTable,
    options: OptionBacktest | None,
) -> BacktestParts:
    """Backtests of `group` (index specs first, then option specs) over any bar range, one
    result per spec in the group's order: index specs in one batch kernel call, option specs
    by `options`."""
    arrays = market_arrays(bars)
    split = sum(not _is_option(spec) for spec in group)
    index_signals, option_signals = signals[:split], signals[split:]
    instruments = [
        spec.instrument for spec in group[split:] if isinstance(spec.instrument, OptionInstrument)
    ]

    def parts(start: int, end: int, keep_equity: bool) -> list[BacktestResult]:
        results: list[BacktestResult] = []
        if index_signals:
            results += run_batch(
                index_signals,
                arrays,
                config,
                cost_table,
                start=start,
                end=end,
                keep_equity=keep_equity,
            )
        if option_signals:
            assert options is not None  # _check_options
            results += options.run(
                option_signals,
                instruments,
                arrays,
                cost_table,
                start=start,
                end=end,
                keep_equity=keep_equity,
            )
        return results

    return parts


def evaluate_specs(
    specs: Sequence[StrategySpec],
    candles: pl.DataFrame,
    config: BacktestConfig,
    scoring: ScoringConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
    options: OptionBacktest | None = None,
) -> list[Evaluation]:
    """Walk every spec forward on `candles` (1m bars of the specs' symbol) and score it.

    Every fill is charged from `cost_table`; `folds` walk-forward folds are scored out of
    sample. Option specs are backtested by `options` (their signals from the same compiler).
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
    _check_options(specs, options)
    regime = classify_regime(candles)
    window_start, window_end = candles["ts"].min(), candles["ts"].max()
    evaluations: list[Evaluation] = []
    for _, group, bars in _by_timeframe(specs, candles):
        signals = compile_many(group, bars)
        backtest = _backtester(group, signals, bars, config, cost_table, options)
        results = walk_forward(
            backtest, [spec.id for spec in group], market_arrays(bars), folds=folds, mode=mode
        )
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
    order = {spec.id: index for index, spec in enumerate(specs)}
    return sorted(evaluations, key=lambda evaluation: order[evaluation.spec.id])


def evaluation_context_key(
    candles: pl.DataFrame,
    config: BacktestConfig,
    scoring: ScoringConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
    options: OptionBacktest | None = None,
) -> str:
    """A digest of everything but the spec that decides an evaluation: the candles' every value,
    the backtest config, the scoring, the cost table, the folds, the walk-forward mode and the
    option model (its config and `OptionMarket.fingerprint`), when given.

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
    if options is not None:
        settings["options"] = {
            "config": options.config.model_dump(mode="json"),
            "market": options.market.fingerprint(),
        }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:20]


def rank(rows: Sequence[LeaderboardRow]) -> list[LeaderboardRow]:
    """Rank by score, then by out-of-sample net P&L; ties broken by spec id for stability."""
    ordered = sorted(rows, key=lambda row: (-row.score, -_finite(row.net_pnl), row.spec_id))
    return [replace(row, rank=place) for place, row in enumerate(ordered, start=1)]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
