"""The install step's warm-up compiles into the numba cache it is given: a new process that
backtests afterwards compiles nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIRST_BACKTEST = """
from numba.core import event
compiled = []
class Listener(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev): pass
event.register("numba:compile", Listener())
from datetime import date
from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.generators import template_specs
candles = resample(generate_market("NIFTY", days=3, seed=8, start=date(2025, 2, 3)).candles, "5m")
spec = template_specs("NIFTY", "5m")[0]
result = run_backtest(compile_spec(spec, candles), candles, BacktestConfig(), CostTable.bundled())
result.trades, result.metrics
print("compiled:", sorted(set(compiled)))
"""


@pytest.mark.slow
def test_after_the_warm_up_a_first_backtest_compiles_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = subprocess.run(
        [sys.executable, "-m", "tradeloop.app.warm_up"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert warm.returncode == 0, warm.stderr
    assert "compiling the backtest kernels" in warm.stdout
    first = subprocess.run(
        [sys.executable, "-c", FIRST_BACKTEST],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "compiled: []" in first.stdout, first.stdout
