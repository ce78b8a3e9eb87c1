"""The backtest engine against vectorbt and backtesting.py on the reference workload.

Workload: synthetic NIFTY minute bars; RSI(14) crosses below 30 → long at the next bar's open,
stop −1% and target +2% of the fill, the stop first when a bar touches both, 1 unit, no costs,
no slippage, no square-off, stops checked from the bar after the entry
(`stops_from_entry_bar=False`, the peers' convention). The three engines get the same boolean
entry array, so the comparison is of the engines, not of three RSI implementations.

Conventions normalised, and why:

* vectorbt executes an entry at the bar that carries it, at `price`: its entries are ours
  shifted one bar later with `price=open`, and `stop_entry_price="fillprice"` so its stops are
  relative to that open (its default is the close).
* backtesting.py fills `buy()` at the next open, but SL/TP prices must be known when the order
  is placed; the strategy sets them on the trade in `next()` of its entry bar (fill × 0.99,
  fill × 1.02), so they act from the following bar — exactly `stops_from_entry_bar=False`.
* The last trade may still be open when the data ends: tradeloop closes it (`end_of_data`),
  vectorbt keeps it open and backtesting.py drops it. Only closed trades are compared.
* Stop levels are `fill − 0.01 × fill` here and `fill × 0.99` there: equal to the last bit in
  almost every case, so prices are compared to 1e-9 relative.

Timing: one 1,000,000-bar backtest with its metrics and trade list (vectorbt: `from_signals`,
`stats()` and `trades.records_readable`); backtesting.py runs a 100,000-bar slice, extrapolated
linearly (it steps through Python per bar, so its time is linear in bars). The sweep runs 100
variants (RSI period 7..25 × level 20..38) over 100,000 bars: our `run_batch` (with every
variant's metrics) against vectorbt's multi-column `from_signals` alone. Peak memory is the
growth of the peak RSS of a fresh process doing the 1M-bar run. Numba compile time and the
cache load of a new process are measured in subprocesses.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import talib

from tradeloop.domain.backtest import BacktestConfig, run_backtest, run_batch
from tradeloop.domain.costs import CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.signals import Signals

COSTS = CostTable.bundled()

BARS = 1_000_000
SLICE = 100_000
SWEEP_BARS = 100_000
PERIODS = range(7, 26, 2)
LEVELS = range(20, 39, 2)
TARGET_VECTORBT = 20.0
TARGET_BACKTESTING = 500.0
TARGET_SWEEP = 50.0
CONFIG = BacktestConfig(
    capital=10_000_000.0,
    sizing="fixed_quantity",
    quantity=1,
    slippage_bps=0.0,
    apply_costs=False,
    stops_from_entry_bar=False,
    levels_from="fill",  # the peers measure the stop and target from the fill
    tick_size=1e-6,  # nor do they put the levels on a tick: a micro-tick keeps us within noise
)


def minute_arrays(bars: int) -> PriceArrays:
    days = math.ceil(bars / 375)
    candles = generate_market("NIFTY", days=days, seed=42, start=date(2014, 1, 1)).candles
    return PriceArrays.from_candles(candles.head(bars))


def crosses_below(close: np.ndarray, period: int, level: float) -> np.ndarray:
    rsi = talib.RSI(close, period)
    entry = np.zeros(len(close), dtype=bool)
    entry[1:] = (rsi[1:] < level) & (rsi[:-1] >= level)
    return entry


def reference_signals(entry: np.ndarray, spec_id: str = "rsi14_30") -> Signals:
    n = len(entry)
    zeros = np.zeros(n)
    return Signals(
        spec_id, 1, entry, zeros, 0.01, zeros, target_fraction=0.02, square_off_minute=-1
    )


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ----------------------------------------------------------------------------- the engines
def ours(arrays: PriceArrays, entry: np.ndarray) -> tuple[pl.DataFrame, Any]:
    result = run_backtest(reference_signals(entry), arrays, CONFIG, COSTS)
    return result.trades, result.metrics


def ranked(many: list[Signals], sweep: PriceArrays) -> list[str]:
    """The sweep as research runs it: every variant backtested, then ranked by its Sharpe."""
    results = run_batch(many, sweep, CONFIG, COSTS)
    return [r.spec_id for r in sorted(results, key=lambda r: r.metrics.sharpe, reverse=True)]


def frames(arrays: PriceArrays) -> dict[str, pd.Series]:
    index = pd.to_datetime(arrays.ts, unit="ns")
    return {
        name: pd.Series(getattr(arrays, name), index=index)
        for name in ("open", "high", "low", "close")
    }


def vectorbt_portfolio(data: dict[str, pd.Series], entries: Any) -> Any:
    import vectorbt as vbt

    return vbt.Portfolio.from_signals(
        data["close"],
        entries=entries,
        exits=False,
        price=data["open"],
        open=data["open"],
        high=data["high"],
        low=data["low"],
        sl_stop=0.01,
        tp_stop=0.02,
        stop_entry_price="fillprice",
        stop_exit_price="stoplimit",
        size=1,
        init_cash=CONFIG.capital,
        freq="1min",
    )


def shifted(entry: np.ndarray) -> np.ndarray:
    """Our signal on bar t is vectorbt's entry on bar t+1 (filled at its open)."""
    out = np.zeros_like(entry)
    out[1:] = entry[:-1]
    return out


def vectorbt_run(data: dict[str, pd.Series], entry: np.ndarray) -> tuple[Any, Any, Any]:
    portfolio = vectorbt_portfolio(data, pd.Series(shifted(entry), index=data["close"].index))
    return portfolio, portfolio.stats(), portfolio.trades.records_readable


def backtesting_run(data: dict[str, pd.Series], entry: np.ndarray) -> pd.DataFrame:
    from backtesting import Backtest, Strategy

    class NextOpenRsi(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            pass

        def next(self) -> None:
            if self.position:
                trade = self.trades[-1]
                if trade.sl is None:  # the entry filled at this bar's open
                    trade.sl = trade.entry_price * 0.99
                    trade.tp = trade.entry_price * 1.02
            elif entry[len(self.data) - 1]:
                self.buy(size=1)

    frame = pd.DataFrame({name.capitalize(): series for name, series in data.items()})
    test = Backtest(frame, NextOpenRsi, cash=CONFIG.capital, commission=0.0)
    stats = test.run()
    trades: pd.DataFrame = stats["_trades"]
    return trades


# --------------------------------------------------------------------------- agreement
def compare(name: str, ours_trades: pl.DataFrame, theirs: np.ndarray) -> str:
    mine = ours_trades.filter(pl.col("exit_reason") != "end_of_data")
    mine_rows = mine.select("entry_bar", "exit_bar", "entry_price", "exit_price").to_numpy()
    if mine_rows.shape != theirs.shape:
        raise SystemExit(f"{name}: {len(theirs)} closed trades, tradeloop {len(mine_rows)}")
    same_bars = np.array_equal(mine_rows[:, :2].astype(np.int64), theirs[:, :2].astype(np.int64))
    same_prices = np.allclose(mine_rows[:, 2:], theirs[:, 2:], rtol=1e-9, atol=0)
    if not (same_bars and same_prices):
        first = int(np.argmax(np.any(~np.isclose(mine_rows, theirs, rtol=1e-9), axis=1)))
        raise SystemExit(
            f"{name} disagrees at trade {first}: tradeloop {mine_rows[first]}, "
            f"{name} {theirs[first]}"
        )
    return f"{len(mine_rows):,} closed trades identical (entry/exit bar and price)"


# ------------------------------------------------------------------------------ memory
_MEMORY_SCRIPT = """
import ctypes, os, sys, threading, time
import numpy as np
sys.path.insert(0, {benchmarks!r})
import bench_backtest as b
from tradeloop.domain.indicators.base import PriceArrays
saved = np.load({inputs!r})
arrays = PriceArrays(*(saved[name] for name in b.ARRAY_FIELDS), bar_minutes=1)
entry = saved["entry"]
data = b.frames(arrays)
# Warm up on 2,000 bars (compilation, caches), so what is measured is the full run's own.
if {engine!r} == "tradeloop":
    b.ours(arrays.head(2000), entry[:2000])
else:
    b.vectorbt_run({{name: series.iloc[:2000] for name, series in data.items()}}, entry[:2000])
ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, so the baseline is honest
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page
baseline = rss()
peak = [baseline]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.0002)
sampler = threading.Thread(target=sample)
sampler.start()
kept = b.ours(arrays, entry) if {engine!r} == "tradeloop" else b.vectorbt_run(data, entry)
done.set()
sampler.join()
print(max(peak[0], rss()) - baseline)
"""
ARRAY_FIELDS = ("open", "high", "low", "close", "volume", "session", "minute_of_session", "ts")


def peak_rss_growth_mb(engine: str, arrays: PriceArrays, entry: np.ndarray) -> float:
    """Peak RSS growth (sampled every 0.2 ms) of a fresh process during one backtest."""
    with tempfile.TemporaryDirectory() as folder:
        inputs = os.path.join(folder, "inputs.npz")
        np.savez(inputs, entry=entry, **{name: getattr(arrays, name) for name in ARRAY_FIELDS})
        script = _MEMORY_SCRIPT.format(
            benchmarks=os.path.dirname(os.path.abspath(__file__)), inputs=inputs, engine=engine
        )
        output = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout
    return int(output.strip().splitlines()[-1]) / 2**20


_COMPILE_SCRIPT = """
import time
started = time.perf_counter()
import numpy as np
from tradeloop.domain.backtest import BacktestConfig, run_backtest, run_batch
from tradeloop.domain.costs import CostTable
from tradeloop.domain.strategy.signals import Signals
import polars as pl
COSTS = CostTable.bundled()
from datetime import datetime, timedelta, UTC
n = 50
ts = [datetime(2025, 1, 6, 3, 45, tzinfo=UTC) + timedelta(minutes=i) for i in range(n)]
price = 100 + np.sin(np.arange(n))
frame = pl.DataFrame({"symbol": "NIFTY", "interval": "1m", "ts": ts, "open": price,
    "high": price + 1, "low": price - 1, "close": price, "volume": 0})
entry = np.zeros(n, dtype=bool); entry[::7] = True
signals = Signals("x", 1, entry, np.zeros(n), 0.01, np.zeros(n), target_fraction=0.02)
imported = time.perf_counter()
run_backtest(signals, frame, BacktestConfig(), COSTS)
run_batch([signals, signals], frame, BacktestConfig(), COSTS)
print(imported - started, time.perf_counter() - imported)
"""


def numba_times() -> tuple[float, float]:
    """(compile from scratch, load from the on-disk cache), first calls of a new process."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        timings = []
        for _ in range(2):  # the first run compiles and fills the cache, the second loads it
            output = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout
            timings.append(float(output.split()[1]))
    return timings[0], timings[1]


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:,.0f}x (target >= {target:.0f}x) {'OK' if ratio >= target else 'BELOW TARGET'}"


def main() -> None:
    warnings.filterwarnings("ignore")
    print(f"== backtest engine vs vectorbt and backtesting.py ({os.cpu_count()} cores)")
    compile_seconds, cache_seconds = numba_times()
    print(
        f"numba: compile from scratch {compile_seconds:.1f} s; a new process loading the cache "
        f"{cache_seconds:.2f} s (first calls, excluded from the timings below)"
    )

    arrays = minute_arrays(BARS)
    entry = crosses_below(arrays.close, 14, 30)
    data = frames(arrays)
    print(f"workload: {BARS:,} minute bars, {int(entry.sum()):,} RSI(14) < 30 cross signals")

    trades, _ = ours(arrays, entry)
    portfolio, _, _ = vectorbt_run(data, entry)
    records = portfolio.trades.records
    closed = records[records["status"] == 1]
    vectorbt_trades = np.column_stack(
        [closed["entry_idx"], closed["exit_idx"], closed["entry_price"], closed["exit_price"]]
    )
    print(f"agreement vectorbt ({BARS:,} bars): {compare('vectorbt', trades, vectorbt_trades)}")
    head = arrays.head(SLICE)
    head_data = {name: series.iloc[:SLICE] for name, series in data.items()}
    head_trades, _ = ours(head, entry[:SLICE])
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # its progress bar
        bt = backtesting_run(head_data, entry[:SLICE])
    backtesting_seconds = (time.perf_counter() - started) * BARS / SLICE
    bt_trades = bt[["EntryBar", "ExitBar", "EntryPrice", "ExitPrice"]].to_numpy(dtype=float)
    print(
        f"agreement backtesting.py (first {SLICE:,} bars): "
        f"{compare('backtesting.py', head_trades, bt_trades)}"
    )

    ours_seconds = best_of(7, lambda: ours(arrays, entry))
    vectorbt_seconds = best_of(3, lambda: vectorbt_run(data, entry))
    print(f"\none backtest of {BARS:,} bars with metrics and the trade list (median):")
    print(f"  tradeloop       {ours_seconds * 1e3:9.1f} ms")
    print(
        f"  vectorbt        {vectorbt_seconds * 1e3:9.1f} ms   "
        f"tradeloop is {verdict(vectorbt_seconds / ours_seconds, TARGET_VECTORBT)}"
    )
    print(
        f"  backtesting.py  {backtesting_seconds * 1e3:9.1f} ms   "
        f"tradeloop is {verdict(backtesting_seconds / ours_seconds, TARGET_BACKTESTING)}  "
        f"(timed on {SLICE:,} bars, x{BARS // SLICE} linear)"
    )

    sweep = arrays.head(SWEEP_BARS)
    variants = [crosses_below(sweep.close, period, level) for period in PERIODS for level in LEVELS]
    zeros = np.zeros(SWEEP_BARS)
    many = [
        Signals(f"v{i}", 1, e, zeros, 0.01, zeros, target_fraction=0.02, square_off_minute=-1)
        for i, e in enumerate(variants)
    ]
    ranked(many, sweep)
    sweep_data = {name: series.iloc[:SWEEP_BARS] for name, series in data.items()}
    columns = pd.DataFrame(
        np.column_stack([shifted(e) for e in variants]), index=sweep_data["close"].index
    )
    vectorbt_portfolio(sweep_data, columns)
    batch_seconds = best_of(7, lambda: ranked(many, sweep))
    sweep_vectorbt = best_of(3, lambda: vectorbt_portfolio(sweep_data, columns))
    check = run_batch(many, sweep, CONFIG, COSTS)
    multi = vectorbt_portfolio(sweep_data, columns).trades.records
    for column in (0, 57, 99):
        theirs = multi[(multi["col"] == column) & (multi["status"] == 1)]
        compare(
            f"vectorbt column {column}",
            check[column].trades,
            np.column_stack(
                [
                    theirs["entry_idx"],
                    theirs["exit_idx"],
                    theirs["entry_price"],
                    theirs["exit_price"],
                ]
            ),
        )
    print(f"\nsweep of {len(many)} variants over {SWEEP_BARS:,} bars (median):")
    print(f"  tradeloop run_batch, ranked by Sharpe          {batch_seconds * 1e3:8.1f} ms")
    print(
        f"  vectorbt multi-column from_signals            {sweep_vectorbt * 1e3:8.1f} ms   "
        f"tradeloop is {verdict(sweep_vectorbt / batch_seconds, TARGET_SWEEP)}"
    )

    tracemalloc.start()
    ours(arrays, entry)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\npeak memory of the {BARS:,}-bar run (RSS growth over the run, fresh process):")
    print(
        f"  tradeloop  {peak_rss_growth_mb('tradeloop', arrays, entry):7.1f} MB   "
        f"(tracemalloc peak of numpy allocations {traced / 2**20:.1f} MB)"
    )
    print(f"  vectorbt   {peak_rss_growth_mb('vectorbt', arrays, entry):7.1f} MB")


if __name__ == "__main__":
    main()
