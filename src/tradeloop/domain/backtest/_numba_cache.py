"""One on-disk cache stamp for all the backtester's compiled code.

Numba keys a function's cache on its own source file only: when `exits.py` changes, the cached
`kernel.simulate` (which has `exits.find_exit` compiled into it) would still be loaded, stale.
The locators below stamp every cache of the modules in `COMPILED_MODULES` with a hash of all
their sources together, and of the shared rules in `COMPILED_CALLEES`, so editing any one of
them recompiles them all. Import this module before defining any `@njit(cache=True)` function
of `COMPILED_MODULES`.

`COMPILED_CALLEES` hold what the kernels share with Python callers (the exit reasons' codes, the
stop rule, the risk manager's sizing): they live outside this package and do not import it
(that would be a cycle). They call nothing compiled elsewhere, so numba's own per-file stamp is
right for their caches: the locators leave them to it, whichever module is imported first.

If numba's locator API changes, registration is skipped and numba's own per-file stamps apply.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
COMPILED_MODULES: tuple[Path, ...] = (
    _HERE / "layout.py",
    _HERE / "fills.py",
    _HERE / "exits.py",
    _HERE / "kernel.py",
    _HERE / "metrics.py",
)
COMPILED_CALLEES: tuple[Path, ...] = (
    _HERE.parent / "exits.py",
    _HERE.parent / "stops.py",
    _HERE.parent / "price_ticks.py",
    _HERE.parent / "risk" / "sizing.py",
)
_COVERED = frozenset(str(path) for path in COMPILED_MODULES)


@lru_cache(maxsize=1)
def combined_stamp() -> str:
    """sha256 of the compiled modules' and their callees' sources, in a fixed order."""
    digest = hashlib.sha256()
    for path in COMPILED_MODULES + COMPILED_CALLEES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _covers(py_file: str) -> bool:
    return str(Path(py_file).resolve()) in _COVERED


def _register() -> None:
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba without the caching module
        return
    base_classes = [
        getattr(caching, "UserProvidedCacheLocator", None),  # NUMBA_CACHE_DIR, when set
        getattr(caching, "InTreeCacheLocator", None),  # __pycache__ next to the source
    ]
    registry = getattr(getattr(caching, "CacheImpl", None), "_locator_classes", None)
    if None in base_classes or not isinstance(registry, list):
        return
    for base in reversed(base_classes):
        locator = _stamped_locator(base)
        if not any(getattr(known, "__name__", "") == locator.__name__ for known in registry):
            registry.insert(0, locator)


def _stamped_locator(base: Any) -> Any:
    class Locator(base):  # type: ignore[misc, valid-type]
        def get_source_stamp(self) -> str:
            return combined_stamp()

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if not _covers(py_file):
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"TradeloopBacktest{base.__name__}"
    return Locator


_register()
