"""The indices tradeloop trades and their contract facts (lot size, tick, strike step).

Lot sizes follow the NSE revision effective January 2026 (NIFTY 65, BANKNIFTY 30); override them
per run where you backtest an older period. Dhan security ids are those of the index in segment
IDX_I (the futures and options have their own ids, looked up from Dhan's instrument list).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tradeloop.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class IndexInstrument:
    symbol: str
    lot_size: int
    tick_size: float
    strike_step: float
    dhan_security_id: str
    typical_level: float


INDICES: dict[str, IndexInstrument] = {
    "NIFTY": IndexInstrument("NIFTY", 65, 0.05, 50.0, "13", 24_000.0),
    "BANKNIFTY": IndexInstrument("BANKNIFTY", 30, 0.05, 100.0, "25", 51_000.0),
}


def index_instrument(symbol: str) -> IndexInstrument:
    """The instrument for `symbol` (case-insensitive); unknown names get a "did you mean"."""
    key = symbol.strip().upper()
    if key in INDICES:
        return INDICES[key]
    close = difflib.get_close_matches(key, list(INDICES), n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise NotFoundError(f"unknown index '{symbol}': known are {', '.join(INDICES)}.{hint}")
