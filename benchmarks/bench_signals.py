"""Compile 100 varied strategy specs over 1M minute bars; compare with TA-Lib called directly.

The peer is the least any compiler must spend: TA-Lib computing each distinct indicator the
specs need, once, on the same float64 arrays. The compiler's time covers everything else too:
reading the candle frame, the indicator cache, every condition, the time windows, warm-up
masks and exit offsets. Target: compiler total <= 2x the raw TA-Lib time. Both wall and
process CPU time are reported (best of REPEATS, interleaved); CPU time is the steadier of the
two on a shared machine.

The specs come from the deterministic random generator, keeping those whose indicators are all
TA-Lib-backed so that the peer computes exactly the same indicators.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import talib

from tradeloop.domain.indicators.registry import get_indicator
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.checks import IndicatorKey, indicators_of
from tradeloop.domain.strategy.compiler import compile_many
from tradeloop.domain.strategy.generators import random_specs
from tradeloop.domain.strategy.spec import StrategySpec

BARS = 1_000_000
SPECS = 100
TARGET_RATIO = 2.0
REPEATS = 7

Arrays = dict[str, np.ndarray]

# Our parameter names -> TA-Lib's arguments, written out here so the peer is TA-Lib itself.
_TALIB: dict[str, Callable[[Arrays, dict[str, float]], Any]] = {
    "rsi": lambda a, p: talib.RSI(a["close"], timeperiod=int(p["period"])),
    "ema": lambda a, p: talib.EMA(a["close"], timeperiod=int(p["period"])),
    "sma": lambda a, p: talib.SMA(a["close"], timeperiod=int(p["period"])),
    "wma": lambda a, p: talib.WMA(a["close"], timeperiod=int(p["period"])),
    "adx": lambda a, p: talib.ADX(a["high"], a["low"], a["close"], timeperiod=int(p["period"])),
    "atr": lambda a, p: talib.ATR(a["high"], a["low"], a["close"], timeperiod=int(p["period"])),
    "mfi": lambda a, p: talib.MFI(
        a["high"], a["low"], a["close"], a["volume"], timeperiod=int(p["period"])
    ),
    "willr": lambda a, p: talib.WILLR(a["high"], a["low"], a["close"], timeperiod=int(p["period"])),
    "stoch": lambda a, p: talib.STOCH(
        a["high"],
        a["low"],
        a["close"],
        fastk_period=int(p["k_period"]),
        slowk_period=int(p["k_smoothing"]),
        slowd_period=int(p["d_period"]),
    ),
    "macd": lambda a, p: talib.MACD(
        a["close"],
        fastperiod=int(p["fast_period"]),
        slowperiod=int(p["slow_period"]),
        signalperiod=int(p["signal_period"]),
    ),
    "bbands": lambda a, p: talib.BBANDS(
        a["close"], timeperiod=int(p["period"]), nbdevup=p["deviations"], nbdevdn=p["deviations"]
    ),
}


def minute_candles(bars: int) -> pl.DataFrame:
    days = math.ceil(bars / 375)
    return generate_market("NIFTY", days=days, seed=42).candles.head(bars)


def talib_only_specs(count: int) -> list[StrategySpec]:
    chosen: list[StrategySpec] = []
    for spec in random_specs(seed=2024, n=count * 6, symbol="NIFTY", timeframe="1m"):
        # A swing stop reads the native `swings` indicator, so it is left out here too.
        sources = {get_indicator(name).source for name, _ in indicators_of(spec)}
        if sources <= {"talib"}:
            chosen.append(spec)
        if len(chosen) == count:
            return chosen
    raise SystemExit(f"only {len(chosen)} TA-Lib-only specs drawn; raise the pool size")


def time_talib(arrays: Arrays, keys: set[IndicatorKey]) -> tuple[float, float]:
    """(wall, CPU) seconds for TA-Lib to compute every distinct indicator once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for name, params in sorted(keys):
        _TALIB[name](arrays, dict(params))
    return time.perf_counter() - wall, time.process_time() - cpu


def time_compiler(specs: list[StrategySpec], candles: pl.DataFrame) -> tuple[float, float, int]:
    """(wall, CPU) seconds for `compile_many`, and the number of entry signals."""
    wall, cpu = time.perf_counter(), time.process_time()
    signals = compile_many(specs, candles)
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    return *elapsed, sum(int(compiled.entry.sum()) for compiled in signals)


def main() -> None:
    candles = minute_candles(BARS)
    specs = talib_only_specs(SPECS)
    keys = set().union(*(indicators_of(spec) for spec in specs))
    arrays = {
        name: candles[name].cast(pl.Float64).to_numpy()
        for name in ("open", "high", "low", "close", "volume")
    }
    compile_many(specs[:2], candles.head(5_000))  # imports and compiled kernels loaded
    # Interleaved, best of REPEATS: both sides see the same machine load. CPU time is shown
    # too because it is steadier than wall time on a shared machine.
    talib_runs, compiler_runs = [], []
    for _ in range(REPEATS):
        talib_runs.append(time_talib(arrays, keys))
        compiler_runs.append(time_compiler(specs, candles))
    talib_wall, talib_cpu = (min(run[index] for run in talib_runs) for index in (0, 1))
    compiler_wall, compiler_cpu = (min(run[index] for run in compiler_runs) for index in (0, 1))
    entries = compiler_runs[0][2]
    print(f"{len(specs)} specs x {candles.height:,} minute bars, {len(keys)} distinct indicators")
    print(
        f"  TA-Lib direct, distinct indicators: {talib_wall * 1000:7.1f} ms wall "
        f"{talib_cpu * 1000:7.1f} ms CPU"
    )
    print(
        f"  compile_many, everything:          {compiler_wall * 1000:7.1f} ms wall "
        f"{compiler_cpu * 1000:7.1f} ms CPU  = {len(specs) / compiler_wall:,.0f} specs/s, "
        f"{entries:,} entry signals"
    )
    for label, ratio in (
        ("wall", compiler_wall / talib_wall),
        ("CPU", compiler_cpu / talib_cpu),
    ):
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"  ratio compiler / TA-Lib ({label}): {ratio:.2f}"
            f"  target <= {TARGET_RATIO:.1f}: {verdict}"
        )


if __name__ == "__main__":
    main()
