"""Storage: the candle store (Parquet + DuckDB), implied volatility, file import; see DESIGN.md.

Other stores (strategy memory, the ledger) are imported from their own modules.
"""

from tradeloop.storage.candles import (
    CandleStore,
    Gap,
    InMemoryCandleStore,
    ParquetCandleStore,
    SeriesSummary,
    WriteReport,
    open_candle_store,
)
from tradeloop.storage.importer import ImportResult, read_candle_file
from tradeloop.storage.volatility import VolatilityStore, open_volatility_store

__all__ = [
    "CandleStore",
    "Gap",
    "ImportResult",
    "InMemoryCandleStore",
    "ParquetCandleStore",
    "SeriesSummary",
    "VolatilityStore",
    "WriteReport",
    "open_candle_store",
    "open_volatility_store",
    "read_candle_file",
]
