"""Storage: the candle store (Parquet + DuckDB), implied volatility, file import; see DESIGN.md.

Other stores (strategy memory, the ledger) are imported from their own modules. The names below
load on first use, so importing `tradeloop.storage.ledger` does not pay for DuckDB and polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeloop.storage.candles import (
        CandleStore,
        Gap,
        InMemoryCandleStore,
        ParquetCandleStore,
        SeriesSummary,
        WriteReport,
    )
    from tradeloop.storage.importer import ImportResult, read_candle_file
    from tradeloop.storage.volatility import VolatilityStore

_HOMES = {
    "CandleStore": "candles",
    "Gap": "candles",
    "InMemoryCandleStore": "candles",
    "ParquetCandleStore": "candles",
    "SeriesSummary": "candles",
    "WriteReport": "candles",
    "ImportResult": "importer",
    "read_candle_file": "importer",
    "VolatilityStore": "volatility",
}

__all__ = [
    "CandleStore",
    "Gap",
    "ImportResult",
    "InMemoryCandleStore",
    "ParquetCandleStore",
    "SeriesSummary",
    "VolatilityStore",
    "WriteReport",
    "read_candle_file",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tradeloop.storage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tradeloop.storage.{home}"), name)
