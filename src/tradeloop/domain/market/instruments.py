"""The indices tradeloop trades: their names, strike step, Dhan index id and typical level.

Lot sizes and tick sizes are not here: they change with NSE's revisions and differ between a
future and an option, so they come from the instrument master by day
(`domain/market/contracts.py`, built in the composition root). Dhan security ids here are those
of the index in segment IDX_I (the futures and options have their own ids, in the master).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tradeloop.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class IndexInstrument:
    symbol: str
    strike_step: float
    dhan_security_id: str
    typical_level: float


INDICES: dict[str, IndexInstrument] = {
    "NIFTY": IndexInstrument("NIFTY", 50.0, "13", 24_000.0),
    "BANKNIFTY": IndexInstrument("BANKNIFTY", 100.0, "25", 51_000.0),
}


def index_instrument(symbol: str) -> IndexInstrument:
    """The instrument for `symbol` (case-insensitive); unknown names get a "did you mean"."""
    key = symbol.strip().upper()
    if key in INDICES:
        return INDICES[key]
    close = difflib.get_close_matches(key, list(INDICES), n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise NotFoundError(f"unknown index '{symbol}': known are {', '.join(INDICES)}.{hint}")
