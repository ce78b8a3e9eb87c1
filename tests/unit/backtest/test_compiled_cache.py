"""The on-disk cache of the compiled backtester is stamped with all its sources together."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from numba.core.registry import CPUDispatcher

from tradeloop.domain.backtest import _numba_cache, exits, fills, kernel, metrics

PACKAGE = Path(kernel.__file__).resolve().parent


def _compiled_modules() -> set[Path]:
    return {
        path
        for path in PACKAGE.glob("*.py")
        if re.search(r"^@njit", path.read_text(encoding="utf-8"), re.MULTILINE)
    }


def test_every_module_with_compiled_code_is_in_the_shared_stamp() -> None:
    assert _compiled_modules() <= set(_numba_cache.COMPILED_MODULES)
    stamped = _numba_cache.COMPILED_MODULES + _numba_cache.COMPILED_CALLEES
    assert all(path.exists() for path in stamped)


def test_compiled_code_the_kernels_call_from_elsewhere_is_in_the_stamp() -> None:
    """A compiled function of another module is compiled into the kernels' caches: a change of
    its source must change their stamp."""
    stamped = {str(path) for path in _numba_cache.COMPILED_MODULES + _numba_cache.COMPILED_CALLEES}
    for path in _compiled_modules():
        module = importlib.import_module(f"tradeloop.domain.backtest.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, CPUDispatcher):
                source = str(Path(value.py_func.__code__.co_filename).resolve())
                assert source in stamped, (path.name, value.__name__, source)


def test_compiled_functions_use_the_shared_stamp() -> None:
    for function in (kernel.simulate, kernel.simulate_batch, exits.find_exit, fills.slippage):
        locator = function._cache._impl.locator
        assert type(locator).__name__.startswith("TradeloopBacktest"), function
        assert locator.get_source_stamp() == _numba_cache.combined_stamp()
    assert metrics.metrics_batch._cache._impl.locator.get_source_stamp() == (
        _numba_cache.combined_stamp()
    )


def test_shared_rules_keep_numbas_own_stamp_whichever_module_loads_first() -> None:
    """A callee outside the package is not stamped with the package's sources (its cache would
    then depend on the import order); the stamp of its callers covers it."""
    for function in (fills.risk_quantity, exits.ratchet_stop):
        locator = function._cache._impl.locator
        assert not type(locator).__name__.startswith("TradeloopBacktest"), function
