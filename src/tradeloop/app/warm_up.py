"""Compile the backtester's kernels into numba's on-disk cache, once, before the first real use.

Numba compiles a kernel the first time it is called and keeps the machine code in its cache
(`__pycache__` beside the sources, or NUMBA_CACHE_DIR). With an empty cache a first backtest
spends its time compiling, not simulating; `make` runs this right after installing, so the
user's first `tradeloop backtest` or research run loads the kernels instead.

It runs what a research run and a backtest run, on a few synthetic days: spec compilation
(the masks, the session clock, the indicators a random batch names), one backtest, a batch,
and a walk-forward, each with costs, so every kernel and its usual types are compiled.

    python -m tradeloop.app.warm_up
"""

from __future__ import annotations

import time
from datetime import date

from tradeloop.domain.backtest import BacktestConfig, run_backtest, run_walk_forward_batch
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.generators import random_specs

_DAYS = 6
_SPECS = 24


def warm_up() -> float:
    """Compile (or load from the cache) every kernel a backtest and a research run call; the
    seconds it took."""
    started = time.perf_counter()
    minutes = generate_market("NIFTY", days=_DAYS, seed=3, start=date(2025, 1, 6)).candles
    candles = resample(minutes, "5m")
    specs = [
        spec for spec in random_specs(11, _SPECS, "NIFTY", "5m") if spec.instrument.kind == "index"
    ]
    signals = compile_many(specs, candles)
    costs = CostTable.bundled()
    config = BacktestConfig()
    result = run_backtest(signals[0], candles, config, costs)
    _ = result.trades, result.metrics
    run_walk_forward_batch(signals, candles, config, costs, folds=2)
    return time.perf_counter() - started


def main() -> None:
    print(
        "compiling the backtest kernels into numba's cache (once after an install; "
        "later runs load them)...",
        flush=True,
    )
    print(f"done in {warm_up():.0f} s", flush=True)


if __name__ == "__main__":
    main()
