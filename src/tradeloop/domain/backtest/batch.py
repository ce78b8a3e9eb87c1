"""Run many strategies over the same candles: the research loop's path.

The signals are stacked into 2-D arrays (per-spec offset arrays shared through pools, so the
compiler's shared zeros and NaNs are not copied a thousand times) and simulated by compiled
calls over contiguous chunks of specs. The kernels release the GIL, so the chunks run in
parallel threads, one per core, without Python per bar.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tradeloop.domain.backtest import kernel, layout
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.engine import (
    METRIC_COLUMNS,
    MarketData,
    bar_range,
    build_result,
    check_alignment,
    floats,
    frozen,
    kernel_market,
    kernel_rates,
    market_arrays,
    spec_vector,
    square_off_bars,
)
from tradeloop.domain.backtest.metrics import metrics_batch
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.costs import CostTable
from tradeloop.domain.strategy.signals import Signals


def run_batch(
    signals_list: Sequence[Signals],
    market: MarketData,
    config: BacktestConfig,
    cost_table: CostTable,
    *,
    start: int = 0,
    end: int | None = None,
    keep_equity: bool = False,
) -> list[BacktestResult]:
    """Backtest many strategies over the same bars: compiled calls over chunks of specs,
    spread over the cores by threads (the kernels release the GIL).

    Each result equals `run_backtest` of the same signals. Per-bar equity curves are kept only
    with `keep_equity=True` (a thousand specs × a year of minutes is ~0.75 GB); the daily
    equity and every metric are always there.
    """
    arrays = market_arrays(market)
    start, end = bar_range(arrays, start, end)
    if not signals_list:
        return []
    for signals in signals_list:
        check_alignment(signals, arrays)
    table = cost_table
    candles = kernel_market(arrays)
    strategies = _strategies(signals_list, candles)
    vector, rates = floats(config.kernel_vector()), kernel_rates(config, table)

    def simulate_chunk(first: int, last: int) -> _Chunk:
        """Specs first..last-1 in one compiled call (it releases the GIL: chunks run in
        parallel threads)."""
        chunk = _chunk(strategies, first, last)
        out = kernel.simulate_batch(candles, chunk, vector, rates, start, end, keep_equity)
        metrics = metrics_batch(
            out.trades,
            out.offsets,
            out.counts,
            out.session_equity,
            np.ascontiguousarray(out.stats[:, layout.K_END_EQUITY]),
            config.capital,
            end - start,
            METRIC_COLUMNS,
        )
        return _Chunk(first, out, metrics)

    bounds = _chunk_bounds(len(signals_list), (end - start) * len(signals_list))
    if len(bounds) == 1:
        chunks = [simulate_chunk(*bounds[0])]
    else:
        chunks = list(_thread_pool().map(lambda bound: simulate_chunk(*bound), bounds))
    results = []
    for chunk in chunks:
        out = chunk.out
        for local, index in enumerate(range(chunk.first, chunk.first + len(out.counts))):
            first_row = int(out.offsets[local])
            results.append(
                build_result(
                    signals_list[index],
                    arrays,
                    config,
                    table,
                    start,
                    end,
                    out.trades[first_row : first_row + int(out.counts[local])],
                    chunk.metrics[local],
                    out.stats[local],
                    out.session_equity[local],
                    out.equity[local] if keep_equity else None,
                )
            )
    return results


@dataclass(frozen=True, slots=True, eq=False)
class _Chunk:
    """What one compiled batch call returned for specs first, first + 1, ..., and their
    metrics."""

    first: int
    out: layout.BatchOutputs
    metrics: np.ndarray


def _strategies(signals_list: Sequence[Signals], candles: layout.Market) -> layout.Strategies:
    """The specs' arrays stacked, those they share stored once (see `_pool`)."""
    stop_offsets, stop_row = _pool([s.stop_offset for s in signals_list])
    target_offsets, target_row = _pool([s.target_offset for s in signals_list])
    trail_offsets, trail_row = _pool(
        [s.trail_offset if s.has_trailing_stop else None for s in signals_list]
    )
    minutes = sorted({s.square_off_minute for s in signals_list if s.square_off_minute >= 0})
    # One row per distinct square-off time; specs without one point at row 0 and never read it.
    square_off_pool = (
        np.stack([square_off_bars(candles, minute) for minute in minutes])
        if minutes
        else np.zeros((1, 0), dtype=np.int64)
    )
    square_off_row = [
        minutes.index(s.square_off_minute) if s.square_off_minute >= 0 else 0 for s in signals_list
    ]
    return layout.Strategies(
        entries=frozen(np.stack([s.entry for s in signals_list]), np.bool_),
        stop_offsets=stop_offsets,
        stop_row=stop_row,
        target_offsets=target_offsets,
        target_row=target_row,
        trail_offsets=trail_offsets,
        trail_row=trail_row,
        square_off_bars=frozen(square_off_pool, np.int64),
        square_off_row=frozen(square_off_row, np.int64),
        rules=floats(np.stack([spec_vector(s) for s in signals_list])),
    )


def _chunk(strategies: layout.Strategies, first: int, last: int) -> layout.Strategies:
    """Specs first..last-1 of a batch (the pools stay whole: rows point into them)."""
    rows = slice(first, last)
    return strategies._replace(
        entries=strategies.entries[rows],
        stop_row=strategies.stop_row[rows],
        target_row=strategies.target_row[rows],
        trail_row=strategies.trail_row[rows],
        square_off_row=strategies.square_off_row[rows],
        rules=strategies.rules[rows],
    )


_PARALLEL_MIN_BAR_STEPS = 2_000_000  # below this, threads cost more than they save


def _chunk_bounds(n_specs: int, bar_steps: int) -> list[tuple[int, int]]:
    """Contiguous spec ranges: one when the batch is small, else a few per core (balance)."""
    workers = _workers()
    if workers == 1 or n_specs == 1 or bar_steps < _PARALLEL_MIN_BAR_STEPS:
        return [(0, n_specs)]
    parts = min(n_specs, 4 * workers)
    edges = np.linspace(0, n_specs, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges.tolist()) if b > a]


def _workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@lru_cache(maxsize=1)
def _thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="tradeloop-backtest")


def _pool(columns: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-spec arrays without copying duplicates: identical objects and arrays holding
    one constant (the compiler's zeros and NaNs) share a row."""
    rows: list[np.ndarray] = []
    by_identity: dict[int, int] = {}
    by_constant: dict[float | str, int] = {}
    index = np.zeros(len(columns), dtype=np.int64)
    for position, values in enumerate(columns):
        if values is None:
            continue  # row 0, never read (the spec vector says there is no such array)
        row = by_identity.get(id(values))
        if row is None:
            constant = _constant(values)
            row = by_constant.get(constant) if constant is not None else None
            if row is None:
                row = len(rows)
                rows.append(floats(values))
                if constant is not None:
                    by_constant[constant] = row
            by_identity[id(values)] = row
        index[position] = row
    if not rows:
        return floats(np.zeros((1, 0))), frozen(index, np.int64)
    return floats(np.stack(rows)), frozen(index, np.int64)


def _constant(values: np.ndarray) -> float | str | None:
    """The value every element holds ('nan' for all NaN), or None."""
    if len(values) == 0:
        return None
    first = float(values[0])
    if math.isnan(first):
        return "nan" if bool(np.isnan(values).all()) else None
    if float(values[-1]) != first:
        return None
    return first if bool((values == first).all()) else None
