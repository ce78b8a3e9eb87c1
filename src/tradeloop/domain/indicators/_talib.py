"""TA-Lib, imported without pandas.

`import talib` imports pandas when it is installed (dhanhq installs it) to wrap every function
for pandas Series. Indicators pass numpy arrays only, and importing pandas took longer than
everything else a first backtest imports (0.3-0.5 s of a cold start), so TA-Lib is imported
here with pandas hidden. pandas stays importable for everyone else afterwards; TA-Lib's
functions then take numpy arrays (and polars Series), not pandas Series.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _import_talib() -> tuple[ModuleType, ModuleType]:
    hide = "pandas" not in sys.modules and "talib" not in sys.modules
    if hide:
        sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` fail
    try:
        import talib
        from talib import abstract
    finally:
        if hide and sys.modules.get("pandas", 0) is None:
            del sys.modules["pandas"]
    return talib, abstract


talib, abstract = _import_talib()
