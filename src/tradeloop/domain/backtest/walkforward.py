"""Walk-forward: split the window into folds on session boundaries and test each one.

The sessions of the window are cut into `folds + 1` consecutive blocks of (almost) equal size.
Fold `k` (1-based) tests block `k` out of sample; its in-sample part is block `k − 1`
(``rolling``) or blocks `0 … k − 1` (``anchored``). Every part is a separate backtest that starts
flat with the configured capital and closes what is open at its last bar (``end_of_data``).

The out-of-sample result that scoring reads is one continuous backtest over blocks `1 … folds`
(all the out-of-sample bars, never the first block): positions and equity carry across fold
boundaries there, so its drawdown is that of one account trading the strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from tradeloop.domain.backtest.batch import run_batch
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.engine import MarketData, market_arrays
from tradeloop.domain.backtest.metrics import Metrics
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.costs import CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import UserError

WalkForwardMode = Literal["rolling", "anchored"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")


class BarRange(_Frozen):
    """Bars `[start, end)` of the candle frame: whole sessions `first_day … last_day` (IST)."""

    start: int
    end: int
    first_day: date
    last_day: date


class Fold(_Frozen):
    number: int
    in_sample: BarRange
    out_of_sample: BarRange


class FoldMetrics(_Frozen):
    fold: Fold
    in_sample: Metrics
    out_of_sample: Metrics


@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    """Per-fold metrics, and the continuous out-of-sample backtest that scoring reads."""

    spec_id: str
    mode: WalkForwardMode
    folds: tuple[FoldMetrics, ...]
    out_of_sample: BacktestResult

    def summary(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id,
            "mode": self.mode,
            "folds": [fold.model_dump(mode="json") for fold in self.folds],
            "out_of_sample": self.out_of_sample.summary(),
        }


def plan_folds(market: MarketData, folds: int, mode: WalkForwardMode = "rolling") -> list[Fold]:
    """The folds of a walk-forward over every session of `market`."""
    if folds < 1:
        raise UserError(f"walk-forward folds = {folds}: use 1 or more (the default is 4)")
    if mode not in ("rolling", "anchored"):
        raise UserError(f"walk-forward mode {mode!r} is unknown: use 'rolling' or 'anchored'")
    arrays = market_arrays(market)
    n_sessions = int(arrays.session[-1]) + 1
    if n_sessions < folds + 1:
        raise UserError(
            f"a walk-forward with {folds} folds needs at least {folds + 1} sessions, the window "
            f"has {n_sessions}: widen the date range or use fewer folds"
        )
    blocks = [
        _bar_range(arrays, int(part[0]), int(part[-1]))
        for part in np.array_split(np.arange(n_sessions), folds + 1)
    ]
    plan = []
    for number in range(1, folds + 1):
        first = blocks[0] if mode == "anchored" else blocks[number - 1]
        last = blocks[number - 1]
        in_sample = BarRange(
            start=first.start, end=last.end, first_day=first.first_day, last_day=last.last_day
        )
        plan.append(Fold(number=number, in_sample=in_sample, out_of_sample=blocks[number]))
    return plan


def run_walk_forward(
    signals: Signals,
    market: MarketData,
    config: BacktestConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
) -> WalkForwardResult:
    """Walk-forward of one strategy (see the module docstring)."""
    return run_walk_forward_batch([signals], market, config, cost_table, folds=folds, mode=mode)[0]


def run_walk_forward_batch(
    signals_list: Sequence[Signals],
    market: MarketData,
    config: BacktestConfig,
    cost_table: CostTable,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
) -> list[WalkForwardResult]:
    """Walk-forward of many strategies on the same candles, each part one batch kernel call."""
    arrays = market_arrays(market)

    def parts(start: int, end: int, keep_equity: bool) -> list[BacktestResult]:
        return run_batch(
            signals_list, arrays, config, cost_table, start=start, end=end, keep_equity=keep_equity
        )

    spec_ids = [signals.spec_id for signals in signals_list]
    return walk_forward(parts, spec_ids, arrays, folds=folds, mode=mode)


BacktestParts = Callable[[int, int, bool], list[BacktestResult]]
"""Backtests of many strategies over bars [start, end) (keeping the bar equity or not), one
result per strategy in a fixed order: what `walk_forward` runs on each part."""


def walk_forward(
    backtest: BacktestParts,
    spec_ids: Sequence[str],
    arrays: PriceArrays,
    *,
    folds: int,
    mode: WalkForwardMode = "rolling",
) -> list[WalkForwardResult]:
    """Walk-forward of the strategies `backtest` runs (`spec_ids`, in its order) over the
    sessions of `arrays`: the parts of the module docstring, each one `backtest` call."""
    plan = plan_folds(arrays, folds, mode)
    per_fold: list[tuple[list[BacktestResult], list[BacktestResult]]] = []
    for fold in plan:
        in_sample = backtest(fold.in_sample.start, fold.in_sample.end, False)
        out_of_sample = backtest(fold.out_of_sample.start, fold.out_of_sample.end, False)
        per_fold.append((in_sample, out_of_sample))
    combined = backtest(plan[0].out_of_sample.start, plan[-1].out_of_sample.end, True)
    return [
        WalkForwardResult(
            spec_id=spec_id,
            mode=mode,
            folds=tuple(
                FoldMetrics(
                    fold=fold,
                    in_sample=in_sample[index].metrics,
                    out_of_sample=out_of_sample[index].metrics,
                )
                for fold, (in_sample, out_of_sample) in zip(plan, per_fold, strict=True)
            ),
            out_of_sample=combined[index],
        )
        for index, spec_id in enumerate(spec_ids)
    ]


def _bar_range(arrays: PriceArrays, first_session: int, last_session: int) -> BarRange:
    start = int(np.searchsorted(arrays.session, first_session, side="left"))
    end = int(np.searchsorted(arrays.session, last_session, side="right"))
    return BarRange(
        start=start,
        end=end,
        first_day=_ist_day(int(arrays.ts[start])),
        last_day=_ist_day(int(arrays.ts[end - 1])),
    )


def _ist_day(nanoseconds: int) -> date:
    return datetime.fromtimestamp(nanoseconds / 1e9, tz=UTC).astimezone(IST).date()
