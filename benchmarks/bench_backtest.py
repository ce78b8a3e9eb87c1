"""tradeloop's public backtest path against a hand-written numba loop, vectorbt and backtesting.py.

Workload: synthetic NIFTY minute bars (a polars candle frame); RSI(14) crosses below 30 → long
1 unit at the next bar's open; stop −1 % and target +2 % of the fill, checked from the bar
after the entry; no costs, no slippage, no square-off. Exits at a bar (docs/backtesting.md): a
bar that opens beyond a level exits at its open (below the stop: a stop; above the target: a
target); otherwise the stop when the low reaches it, the target when the high does, and the stop
when a bar's range touches both.

Every side does the same work in each timed call, from the same inputs:

* **tradeloop** (the public path): `compile_spec(spec, candles)` (the RSI and the cross included)
  → `run_backtest(signals, candles, config, costs)` → `result.trades` (a polars frame) and
  `result.metrics`. Timed twice: (a) repeated calls on the same frame, whose arrays are read once
  and reused (`market.frame_memo`: what a research loop or a notebook does), and (b) the first
  call on a new frame object (`candles.clone()`, made outside the timing), which reads them.
* **numba loop** (the floor, `_numba_reference.py`): the frame's price columns as numpy arrays,
  one fused loop (Wilder's RSI as TA-Lib computes it, the cross, the next-open entry, the exits),
  the trade array and the headline metrics (trade count, net P&L, win rate).
* **vectorbt**: the frame's columns as numpy arrays and its timestamps as a pandas index,
  `talib.RSI`, the cross, `Portfolio.from_signals`, `stats()` and `trades.records_readable`.
* **backtesting.py**: a pandas frame built from the candle frame, a Strategy whose `init` runs
  `self.I(talib.RSI, ...)` and whose `next` trades the cross; `Backtest.run()` (its stats and
  trade list). It steps through Python per bar, so it is timed on the first `--slice` bars and
  extrapolated linearly to `--bars`.
* **sweep**: 100 variants (RSI period 7..25 × level 20..38) on `--sweep-bars` bars, each side
  reading a new frame: `compile_many` + `run_batch` (every variant's metrics) ranked by Sharpe,
  against vectorbt computing the 10 RSIs and 100 entry columns, one multi-column `from_signals`
  and its per-column Sharpe, ranked. run_batch runs on every core; vectorbt on one.

Not timed: generating the candles, parsing the spec JSON, building the config and the cost
table, importing the libraries, the first call of each side (numba compiles or loads its cache;
measured on its own under "cold start"), the frame clones and a `gc.collect()` before each call.

Conventions normalised, and why: vectorbt executes an entry on the bar that carries it, so its
entries are the cross shifted one bar later with `price=open` and `stop_entry_price="fillprice"`
(its stops are otherwise relative to the close). backtesting.py fills `buy()` at the next open
but needs SL/TP prices when the order goes out: the strategy sets them on the trade in `next()`
of its entry bar, so they act from the following bar. The last trade may be open when the data
ends: tradeloop and the numba loop close it at the last close (`end_of_data`), vectorbt keeps it
open and backtesting.py drops it; only closed trades are compared with the peers. Levels are put
on a 1e-6 tick in tradeloop (`tick_size=1e-6`), so prices agree to 1e-9 relative.

Agreement is checked before anything is timed: trade for trade (entry and exit bar and price),
for every engine, and the numba loop's metrics against tradeloop's. Times are the median and
the minimum of interleaved runs; the verdicts use the minimum, the steadier figure on a shared
machine. The machine's load is printed at the start and at the end.

Cold start runs fresh processes: import, then the first compile_spec + run_backtest + trades +
metrics on a few days of bars, with an empty numba cache (NUMBA_CACHE_DIR a new directory) and
with the cache that run filled; with scipy importable (numba imports scipy.linalg when it is
installed; here it comes with the `bench` extra) and with it blocked, as in a user's install.
Peak memory is the growth of the peak RSS of a fresh process over one run on `--bars` bars.

`python benchmarks/bench_backtest.py --bars 100000 --slice 20000 --sweep-bars 20000
--no-cold-start --no-memory` is a quick run for development.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import talib

from _numba_reference import ReferenceResult, reference_backtest
from tradeloop.domain.backtest import BacktestConfig, BacktestResult, run_backtest
from tradeloop.domain.backtest.batch import run_batch
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_many, compile_spec
from tradeloop.domain.strategy.spec import StrategySpec

PERIOD, LEVEL, STOP, TARGET = 14, 30.0, 0.01, 0.02
PERIODS = range(7, 26, 2)
LEVELS = range(20, 39, 2)
SPEC_JSON = json.dumps(
    {
        "name": "rsi14_crosses_below_30",
        "symbol": "NIFTY",
        "timeframe": "1m",
        "direction": "long",
        "instrument": {"kind": "index"},
        "entry": {
            "all": [
                {"left": {"indicator": "rsi", "period": 14}, "op": "crosses_below", "right": 30}
            ]
        },
        "exit": {
            "stop_loss": {"kind": "percent", "percent": 1.0},
            "take_profit": {"kind": "percent", "percent": 2.0},
            "square_off": None,
        },
    }
)
CONFIG_FIELDS: dict[str, Any] = {
    "capital": 10_000_000.0,
    "sizing": "fixed_quantity",
    "quantity": 1,
    "slippage_bps": 0.0,
    "apply_costs": False,
    "stops_from_entry_bar": False,  # the peers check exits from the bar after the entry
    "levels_from": "fill",  # the peers measure the stop and target from the fill
    "tick_size": 1e-6,  # nor do they put levels on a tick: a micro-tick keeps us within noise
}
CONFIG = BacktestConfig(**CONFIG_FIELDS)
COSTS = CostTable.bundled()
TARGETS = {"numba 1M": 2.0, "numba slice": 3.0, "vectorbt": 20.0, "backtesting.py": 500.0}
TARGET_SWEEP = 50.0
COLD_TARGETS = {"warm": 1.5, "empty": 10.0}
SCRATCH = Path(__file__).resolve().parent.parent / ".tmp"
Lap = Callable[[str], None]
"""A lap timer: called with a step's name when the step is done."""


def sweep_specs() -> list[StrategySpec]:
    """The sweep's variants, in vectorbt's column order (period, then level)."""
    specs = []
    for period in PERIODS:
        for level in LEVELS:
            rsi = {"indicator": "rsi", "period": period}
            document = json.loads(SPEC_JSON) | {
                "name": f"rsi{period}_crosses_below_{level}",
                "entry": {"all": [{"left": rsi, "op": "crosses_below", "right": level}]},
            }
            specs.append(StrategySpec.from_document(document))
    return specs


# ------------------------------------------------------------------------------------ the sides
def ignore(step: str) -> None:
    """The lap timer of a timed run: nothing (one empty call per step)."""


def tradeloop_run(spec: StrategySpec, candles: pl.DataFrame, lap: Lap = ignore) -> BacktestResult:
    signals = compile_spec(spec, candles)
    lap("compile_spec")
    result = run_backtest(signals, candles, CONFIG, COSTS)
    lap("run_backtest")
    _ = result.trades  # the trade list and the metrics are built on first access
    lap("trades")
    _ = result.metrics
    lap("metrics")
    return result


def numba_run(candles: pl.DataFrame) -> ReferenceResult:
    return reference_backtest(
        candles, period=PERIOD, level=LEVEL, stop_fraction=STOP, target_fraction=TARGET
    )


def price_columns(candles: pl.DataFrame) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
    """The peers' inputs from the candle frame: its UTC bar times and its OHLC arrays."""
    index = pd.DatetimeIndex(candles["ts"].dt.replace_time_zone(None).to_numpy())
    return index, [candles[name].to_numpy() for name in ("open", "high", "low", "close")]


def crosses_below(rsi: np.ndarray, level: float) -> np.ndarray:
    """Our cross on bar t, as vectorbt's entry on bar t+1 (filled at that bar's open)."""
    entry = np.zeros(len(rsi), dtype=bool)
    entry[2:] = (rsi[1:-1] < level) & (rsi[:-2] >= level)
    return entry


def vectorbt_portfolio(
    index: pd.DatetimeIndex, prices: list[np.ndarray], entries: pd.Series | pd.DataFrame
) -> Any:
    import vectorbt as vbt

    # Series, not bare arrays: vectorbt broadcasts a 1-D array as a row, a Series as a column.
    open_, high, low, close = (pd.Series(values, index=index) for values in prices)
    return vbt.Portfolio.from_signals(
        close,
        entries=entries,
        exits=False,
        price=open_,
        open=open_,
        high=high,
        low=low,
        sl_stop=STOP,
        tp_stop=TARGET,
        stop_entry_price="fillprice",
        stop_exit_price="stoplimit",
        size=1,
        init_cash=CONFIG.capital,
        freq="1min",
    )


def vectorbt_run(
    candles: pl.DataFrame, lap: Lap = ignore, *, readable: bool = True
) -> tuple[Any, pd.Series, Any]:
    """`readable=False` keeps vectorbt's raw trade records (bar numbers, no times) instead of
    `records_readable`, which maps every bar's timestamp through a Python dict."""
    index, prices = price_columns(candles)
    entries = pd.Series(crosses_below(talib.RSI(prices[3], PERIOD), LEVEL), index=index)
    lap("inputs, RSI, cross")
    portfolio = vectorbt_portfolio(index, prices, entries)
    lap("from_signals")
    stats = portfolio.stats()
    lap("stats()")
    trades = portfolio.trades.records_readable if readable else portfolio.trades.records
    lap("records_readable" if readable else "records")
    return portfolio, stats, trades


def backtesting_run(candles: pl.DataFrame) -> pd.DataFrame:
    from backtesting import Backtest, Strategy

    class RsiCrossesBelow(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.rsi = self.I(talib.RSI, self.data.Close, PERIOD)

        def next(self) -> None:
            if self.position:
                trade = self.trades[-1]
                if trade.sl is None:  # the entry filled at this bar's open
                    trade.sl = trade.entry_price * (1 - STOP)
                    trade.tp = trade.entry_price * (1 + TARGET)
            elif self.rsi[-1] < LEVEL and self.rsi[-2] >= LEVEL:
                self.buy(size=1)

    index, prices = price_columns(candles)
    frame = pd.DataFrame(dict(zip(("Open", "High", "Low", "Close"), prices, strict=True)), index)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # its progress bar
        stats = Backtest(frame, RsiCrossesBelow, cash=CONFIG.capital, commission=0.0).run()
    trades: pd.DataFrame = stats["_trades"]
    return trades


def tradeloop_sweep(specs: list[StrategySpec], candles: pl.DataFrame) -> list[BacktestResult]:
    """The sweep as research runs it: every variant backtested, then ranked by its Sharpe."""
    results = run_batch(compile_many(specs, candles), candles, CONFIG, COSTS)
    return sorted(results, key=lambda result: result.metrics.sharpe, reverse=True)


def vectorbt_sweep(candles: pl.DataFrame) -> tuple[Any, pd.Series]:
    index, prices = price_columns(candles)
    columns = []
    for period in PERIODS:
        rsi = talib.RSI(prices[3], period)
        columns.extend(crosses_below(rsi, level) for level in LEVELS)
    names = pd.MultiIndex.from_product([PERIODS, LEVELS], names=["period", "level"])
    entries = pd.DataFrame(np.column_stack(columns), index=index, columns=names)
    portfolio = vectorbt_portfolio(index, prices, entries)
    return portfolio, portfolio.sharpe_ratio().sort_values(ascending=False)


# ------------------------------------------------------------------------------------ agreement
def closed_trades(result: BacktestResult) -> np.ndarray:
    trades = result.trades.filter(pl.col("exit_reason") != "end_of_data")
    return trades.select("entry_bar", "exit_bar", "entry_price", "exit_price").to_numpy()


def vectorbt_trades(records: np.ndarray) -> np.ndarray:
    closed = records[records["status"] == 1]
    return np.column_stack(
        [closed["entry_idx"], closed["exit_idx"], closed["entry_price"], closed["exit_price"]]
    )


def compare(name: str, ours: np.ndarray, theirs: np.ndarray) -> str:
    if ours.shape != theirs.shape:
        raise SystemExit(f"{name}: {len(theirs)} trades, tradeloop {len(ours)}")
    same_bars = np.array_equal(ours[:, :2].astype(np.int64), theirs[:, :2].astype(np.int64))
    same_prices = np.allclose(ours[:, 2:], theirs[:, 2:], rtol=1e-9, atol=0)
    if not (same_bars and same_prices):
        first = int(np.argmax(np.any(~np.isclose(ours, theirs, rtol=1e-9, atol=0), axis=1)))
        raise SystemExit(
            f"{name} disagrees at trade {first}: tradeloop {ours[first]}, {name} {theirs[first]}"
        )
    return f"{len(ours):,} trades identical (entry/exit bar and price)"


def compare_metrics(result: BacktestResult, reference: ReferenceResult) -> str:
    ours = result.metrics
    mine = (ours.trades, ours.net_pnl, ours.win_rate_pct)
    theirs = (reference.trade_count, reference.net_pnl, reference.win_rate_pct)
    tolerance = 2 * CONFIG.tick_size * mine[0]  # each level may sit up to a tick off the fill's
    if mine[0] != theirs[0] or not np.allclose(mine[1:], theirs[1:], rtol=1e-9, atol=tolerance):
        raise SystemExit(f"numba loop metrics {theirs} differ from tradeloop's {mine}")
    return f"trades {mine[0]:,}, net P&L {mine[1]:,.2f}, win rate {mine[2]:.2f} % identical"


# --------------------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class Timing:
    median: float
    min: float

    def __str__(self) -> str:
        return f"median {self.median * 1e3:9.1f} ms   min {self.min * 1e3:9.1f} ms"


@dataclass(frozen=True)
class Side:
    repeats: int
    run: Callable[[Any], object]
    prepare: Callable[[], Any] = lambda: None


def interleaved(sides: dict[str, Side]) -> dict[str, Timing]:
    """Round after round, each side once (until its repeats are done): a change of the
    machine's load touches every side alike. Only `run` is timed, never `prepare`."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(max(side.repeats for side in sides.values())):
        for name, side in sides.items():
            if round_ >= side.repeats:
                continue
            argument = side.prepare()
            gc.collect()
            started = time.perf_counter()
            side.run(argument)
            times[name].append(time.perf_counter() - started)
    return {name: Timing(statistics.median(t), min(t)) for name, t in times.items()}


def steps(
    repeats: int, run: Callable[[Any, Lap], object], prepare: Callable[[], Any] = lambda: None
) -> dict[str, float]:
    """The median time of each step of `run`, which calls its lap timer after each step."""
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        argument = prepare()
        gc.collect()
        last = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal last
            now = time.perf_counter()
            times.setdefault(step, []).append(now - last)
            last = now

        run(argument, lap)
    return {step: statistics.median(values) for step, values in times.items()}


def at_most(ratio: float, target: float) -> str:
    return f"{ratio:6.2f}x (target <= {target:g}x) {'OK' if ratio <= target else 'BELOW TARGET'}"


def at_least(ratio: float, target: float) -> str:
    return f"{ratio:8,.1f}x (target >= {target:g}x) {'OK' if ratio >= target else 'BELOW TARGET'}"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


# ----------------------------------------------------------------------------------- cold start
_COLD_START = """
import json, sys, time
started = time.perf_counter()
if sys.argv[1] == "without-scipy":
    sys.modules["scipy"] = None  # what a user's install (no `bench` extra) has: no scipy
from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.costs import CostTable
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.spec import StrategySpec
imported = time.perf_counter()
from tradeloop.domain.market.synthetic import generate_market
candles = generate_market("NIFTY", days=5, seed=7).candles
spec = StrategySpec.from_json(sys.argv[2])
config = BacktestConfig(**json.loads(sys.argv[3]))
costs = CostTable.bundled()
first = time.perf_counter()
result = run_backtest(compile_spec(spec, candles), candles, config, costs)
result.trades, result.metrics
done = time.perf_counter()
print(json.dumps({"import": imported - started, "first": done - first,
                  "scipy": sys.modules.get("scipy.linalg") is not None}))
"""


def cold_start(scipy: str, cache: Path) -> dict[str, Any]:
    """One fresh process: its import and first-call seconds, whether it loaded scipy.linalg,
    and its whole wall time (`process`)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    arguments = [scipy, SPEC_JSON, json.dumps(CONFIG_FIELDS)]
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", _COLD_START, *arguments],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    measured: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return measured | {"process": time.perf_counter() - started}


def report_cold_start(warm_repeats: int) -> None:
    print(
        f"\ncold start, fresh processes (import + the first backtest on 5 days of bars); {load()}"
    )
    print("  import: the tradeloop modules of the public path (numba, polars, pydantic, TA-Lib)")
    print("  first call: compile_spec + run_backtest + trades + metrics (numba compiles or loads)")
    print("  process: the child's whole wall time, interpreter start and the data included")
    SCRATCH.mkdir(exist_ok=True)
    for scipy in ("as-installed", "without-scipy"):
        cache = Path(tempfile.mkdtemp(prefix="bench-backtest-numba-", dir=SCRATCH))
        try:
            runs = {"empty": [cold_start(scipy, cache)]}
            runs["warm"] = [cold_start(scipy, cache) for _ in range(warm_repeats)]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        for kind, measured in runs.items():
            best = min(measured, key=lambda m: m["import"] + m["first"])
            total = best["import"] + best["first"]
            verdict = "OK" if total <= COLD_TARGETS[kind] else "BELOW TARGET"
            scipy_loaded = "scipy.linalg loaded" if best["scipy"] else "no scipy"
            print(
                f"  {scipy:13} {kind:5} cache: import {best['import']:5.2f} s + first call "
                f"{best['first']:6.2f} s = {total:6.2f} s (target <= {COLD_TARGETS[kind]:g} s) "
                f"{verdict}; process {best['process']:5.2f} s; {scipy_loaded}"
                + (f"; best of {len(measured)}" if len(measured) > 1 else "")
            )
    print("  a user's install has no scipy (it comes with the `bench` extra): 'without-scipy'")


# --------------------------------------------------------------------------------------- memory
_MEMORY = """
import ctypes, os, sys, threading, time
sys.path.insert(0, {benchmarks!r})
import polars as pl
import bench_backtest as b
spec = b.StrategySpec.from_json(b.SPEC_JSON)
run = (lambda c: b.tradeloop_run(spec, c)) if {engine!r} == "tradeloop" else b.vectorbt_run
run(pl.read_parquet({path!r}).head(2000))  # compile, import and warm every cache first
candles = pl.read_parquet({path!r})
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
kept = run(candles)
done.set()
sampler.join()
print(max(peak[0], rss()) - baseline)
"""


def peak_rss_growth_mb(engine: str, candles: pl.DataFrame) -> float:
    """Peak RSS growth (sampled every 0.2 ms) of a fresh process over one run on a frame it has
    just read (so tradeloop's figure includes reading the frame's arrays)."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        path = os.path.join(folder, "candles.parquet")
        candles.write_parquet(path)
        script = _MEMORY.format(
            benchmarks=os.path.dirname(os.path.abspath(__file__)), path=path, engine=engine
        )
        output = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout
    return int(output.strip().splitlines()[-1]) / 2**20


# ----------------------------------------------------------------------------------------- main
def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars of the headline run")
    parser.add_argument("--slice", type=int, default=100_000, help="bars of the short run")
    parser.add_argument("--sweep-bars", type=int, default=100_000, help="bars of the sweep")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs of the fast sides")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the fresh processes")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak RSS runs")
    return parser.parse_args()


def print_settings(options: argparse.Namespace) -> None:
    libraries = ("numba", "numpy", "polars", "pandas", "TA-Lib", "vectorbt", "backtesting")
    print("== tradeloop's public backtest path vs a numba loop, vectorbt and backtesting.py")
    print(f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {load()} (before the run)")
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}; "
        + ", ".join(f"{name} {version(name)}" for name in libraries)
    )
    print(f"spec: {SPEC_JSON}")
    print(f"config: BacktestConfig({', '.join(f'{k}={v!r}' for k, v in CONFIG_FIELDS.items())})")
    print(
        f"bars: {options.bars:,} (headline), {options.slice:,} (short run, backtesting.py "
        f"extrapolated from it), {options.sweep_bars:,} (sweep of "
        f"{len(PERIODS) * len(LEVELS)} variants); repeats {options.repeats} (vectorbt 3, "
        "backtesting.py 2); verdicts use the minimum"
    )


def minute_candles(bars: int) -> pl.DataFrame:
    candles = generate_market("NIFTY", days=math.ceil(bars / 375), seed=42).candles
    return candles.head(bars)


def check_agreement(spec: StrategySpec, candles: pl.DataFrame, short: pl.DataFrame) -> None:
    """Every engine's trades against tradeloop's, before anything is timed (also the warm-up:
    numba compiles or loads its caches, vectorbt and backtesting.py import)."""
    ours = tradeloop_run(spec, candles)
    reference = numba_run(candles)
    every = ours.trades.select("entry_bar", "exit_bar", "entry_price", "exit_price").to_numpy()
    print(f"\nagreement on {candles.height:,} bars:")
    print(f"  numba loop      {compare('numba loop', every, reference.trades)}")
    print(f"                  {compare_metrics(ours, reference)}")
    portfolio, _, _ = vectorbt_run(candles)
    theirs = vectorbt_trades(portfolio.trades.records)
    print(f"  vectorbt        closed: {compare('vectorbt', closed_trades(ours), theirs)}")
    bt = backtesting_run(short)
    bt_trades = bt[["EntryBar", "ExitBar", "EntryPrice", "ExitPrice"]].to_numpy(dtype=float)
    short_ours = closed_trades(tradeloop_run(spec, short))
    print(
        f"  backtesting.py  closed, first {short.height:,} bars: "
        f"{compare('backtesting.py', short_ours, bt_trades)}"
    )


def time_single(
    spec: StrategySpec, candles: pl.DataFrame, repeats: int, peers: bool
) -> dict[str, Timing]:
    sides = {
        "tradeloop, same frame": Side(repeats, lambda _: tradeloop_run(spec, candles)),
        "tradeloop, new frame": Side(
            repeats, lambda frame: tradeloop_run(spec, frame), candles.clone
        ),
        "numba loop": Side(repeats, lambda _: numba_run(candles)),
    }
    if peers:
        sides["vectorbt"] = Side(3, lambda _: vectorbt_run(candles))
        sides["vectorbt, raw records"] = Side(3, lambda _: vectorbt_run(candles, readable=False))
    return interleaved(sides)


def report_single(
    options: argparse.Namespace, spec: StrategySpec, candles: pl.DataFrame
) -> dict[str, Timing]:
    """One backtest on `--bars` and on `--slice` bars; the keys name the bars too."""
    headline, short = candles.head(options.bars), candles.head(options.slice)
    big = time_single(spec, headline, options.repeats, peers=True)
    small = time_single(spec, short, options.repeats * 2, peers=False)
    backtesting = interleaved({"backtesting.py": Side(2, backtesting_run, short.clone)})
    scale = options.bars / options.slice
    measured = backtesting["backtesting.py"]
    big["backtesting.py"] = Timing(measured.median * scale, measured.min * scale)
    print("\none backtest with its trade list and metrics, the indicator included:")
    for bars, timings in ((options.bars, big), (options.slice, small)):
        for name, timing in timings.items():
            print(f"  {bars:>9,} bars  {name:22} {timing}")
    print(f"  (backtesting.py timed on {options.slice:,} bars, x{scale:g} linear)")
    print(f"where the time goes on {options.bars:,} bars (median of each step):")
    parts = {
        "tradeloop, same frame": steps(
            options.repeats, lambda _, lap: tradeloop_run(spec, headline, lap)
        ),
        "tradeloop, new frame": steps(
            options.repeats, lambda frame, lap: tradeloop_run(spec, frame, lap), headline.clone
        ),
        "vectorbt": steps(3, lambda _, lap: vectorbt_run(headline, lap)),
    }
    for name, split in parts.items():
        print(f"  {name:22} " + ", ".join(f"{s} {t * 1e3:.1f} ms" for s, t in split.items()))
    return {f"{name} {options.bars}": t for name, t in big.items()} | {
        f"{name} {options.slice}": t for name, t in small.items()
    }


def report_sweep(options: argparse.Namespace, candles: pl.DataFrame) -> dict[str, Timing]:
    specs = sweep_specs()
    frame = candles.head(options.sweep_bars)
    tradeloop_sweep(specs, frame.clone())  # warm-up: compile and import outside the timing
    vectorbt_sweep(frame)
    sweep = interleaved(
        {
            "tradeloop": Side(
                options.repeats, lambda clone: tradeloop_sweep(specs, clone), frame.clone
            ),
            "vectorbt": Side(3, vectorbt_sweep, frame.clone),
        }
    )
    results = {result.spec_id: result for result in tradeloop_sweep(specs, frame)}
    records = vectorbt_sweep(frame)[0].trades.records
    agreed = []
    for column in (0, 57, 99):
        ours = closed_trades(results[specs[column].id])
        theirs = vectorbt_trades(records[records["col"] == column])
        agreed.append(f"column {column}: {compare(f'vectorbt column {column}', ours, theirs)}")
    print(
        f"\nsweep of {len(specs)} variants over {options.sweep_bars:,} bars on a new frame, "
        f"ranked by Sharpe (run_batch on {len(os.sched_getaffinity(0))} threads, vectorbt on one):"
    )
    for name, timing in sweep.items():
        print(f"  {name:22} {timing}")
    print("  agreement with vectorbt (closed trades): " + "; ".join(agreed))
    return sweep


def report_ratios(
    options: argparse.Namespace, single: dict[str, Timing], sweep: dict[str, Timing]
) -> None:
    print(
        "\nratios of the minimum times (against the peers, tradeloop's new-frame call: "
        "every side reads the frame):"
    )
    for bars, target in (
        (options.bars, TARGETS["numba 1M"]),
        (options.slice, TARGETS["numba slice"]),
    ):
        floor = single[f"numba loop {bars}"].min
        for frame in ("same frame", "new frame"):
            ratio = single[f"tradeloop, {frame} {bars}"].min / floor
            label = f"public path ({frame}) / numba loop"
            print(f"  {label:38} {bars:>9,} bars  {at_most(ratio, target)}")
    ours = single[f"tradeloop, new frame {options.bars}"].min
    same = single[f"tradeloop, same frame {options.bars}"].min
    for peer in ("vectorbt", "backtesting.py"):
        theirs = single[f"{peer} {options.bars}"].min
        label = f"{peer} / tradeloop"
        print(
            f"  {label:38} {options.bars:>9,} bars  {at_least(theirs / ours, TARGETS[peer])}"
            f"  (same frame: {theirs / same:,.0f}x)"
        )
    theirs = single[f"vectorbt, raw records {options.bars}"].min
    label = "vectorbt without records_readable"
    print(
        f"  {label:38} {options.bars:>9,} bars  {theirs / ours:8,.1f}x (no target: its stats and "
        f"raw trade records, no trade times; same frame: {theirs / same:,.0f}x)"
    )
    ratio = sweep["vectorbt"].min / sweep["tradeloop"].min
    label = "sweep: vectorbt / tradeloop"
    print(f"  {label:38} {options.sweep_bars:>9,} bars  {at_least(ratio, TARGET_SWEEP)}")


def main() -> None:
    options = arguments()
    warnings.filterwarnings("ignore")
    print_settings(options)
    spec = StrategySpec.from_json(SPEC_JSON)
    candles = minute_candles(max(options.bars, options.sweep_bars))
    headline = candles.head(options.bars)
    signals = int(compile_spec(spec, headline).entry.sum())
    print(f"workload: {signals:,} RSI({PERIOD}) crosses below {LEVEL:g} on {options.bars:,} bars")
    check_agreement(spec, headline, candles.head(options.slice))
    single = report_single(options, spec, candles)
    sweep = report_sweep(options, candles)
    report_ratios(options, single, sweep)
    if not options.no_cold_start:
        report_cold_start(warm_repeats=3)
    if not options.no_memory:
        print(f"\npeak memory of one {options.bars:,}-bar run (RSS growth, fresh process):")
        for engine in ("tradeloop", "vectorbt"):
            print(f"  {engine:10} {peak_rss_growth_mb(engine, headline):7.1f} MB")
    print(f"\n{load()} (after the run)")


if __name__ == "__main__":
    main()
