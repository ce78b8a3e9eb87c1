"""The on-disk cache of the compiled backtester is stamped with all its sources together."""

from __future__ import annotations

import re
from pathlib import Path

from tradeloop.domain.backtest import _numba_cache, exits, fills, kernel, metrics
from tradeloop.domain.risk import sizing_kernel

PACKAGE = Path(kernel.__file__).resolve().parent


def test_every_module_with_compiled_code_is_in_the_shared_stamp() -> None:
    compiled = {
        path
        for path in [*PACKAGE.glob("*.py"), Path(sizing_kernel.__file__).resolve()]
        if re.search(r"^@njit", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert compiled <= set(_numba_cache.COMPILED_MODULES)
    assert all(path.exists() for path in _numba_cache.COMPILED_MODULES)


def test_compiled_functions_use_the_shared_stamp() -> None:
    for function in (kernel.simulate, kernel.simulate_batch, exits.find_exit, fills.slippage):
        locator = function._cache._impl.locator
        assert type(locator).__name__.startswith("TradeloopBacktest"), function
        assert locator.get_source_stamp() == _numba_cache.combined_stamp()
    assert metrics.metrics_batch._cache._impl.locator.get_source_stamp() == (
        _numba_cache.combined_stamp()
    )
