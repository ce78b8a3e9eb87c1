"""Contract tables and facts for tests.

`sample_contracts()` is what the app builds with no scrip master loaded: the bundled sample and
the bundled lot revision table. `NIFTY_FUTURE` and `BANKNIFTY_FUTURE` are the lot and tick the
golden backtest figures were recorded with (the lots of January 2026 on, and the 0.05 tick the
backtester's `slippage_ticks` was pinned with); a golden test passes them explicitly, so a new
scrip master never moves a pinned figure.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from tradeloop.domain.market.contracts import (
    ContractFacts,
    ContractTable,
    LotRevision,
    bundled_revisions,
)
from tradeloop.domain.market.instrument_master import ContractKind, InstrumentMaster

NIFTY_FUTURE = ContractFacts("NIFTY", ContractKind.FUT, 65, 0.05, "tests")
BANKNIFTY_FUTURE = ContractFacts("BANKNIFTY", ContractKind.FUT, 30, 0.05, "tests")


@cache
def sample_contracts() -> ContractTable:
    """The bundled sample master and revision table (what a fresh data directory gets)."""
    from tradeloop.storage.instruments import bundled_master

    return ContractTable(bundled_master(), bundled_revisions())


def fixed_contracts(tick: float = 0.05, **lots: int) -> ContractTable:
    """A table whose every day has the given lots (default NIFTY 65, BANKNIFTY 30) and one tick
    for futures and options: the 0.05 grid the order-path tests were written on."""
    lots = lots or {"NIFTY": 65, "BANKNIFTY": 30}
    master = sample_contracts().master
    revisions = [
        LotRevision(date(2000, 1, 1), name, lot, tick, tick, "tests") for name, lot in lots.items()
    ]
    far_future = InstrumentMaster(list(master), as_of=date(2100, 1, 1), source=master.source)
    return ContractTable(far_future, revisions)
