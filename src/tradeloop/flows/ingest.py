"""The ingest flow: extend each symbol's 1m candles up to the last completed session.

From Dhan's history when Dhan credentials are configured (`tradeloop data fetch`'s code path),
otherwise from the deterministic synthetic market (see `tradeloop.tasks.ingest`). Only missing
sessions after the last stored one are added; stored days are never rewritten, and a second run
adds nothing.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.market.planted import (
    DEFAULT_EDGE_STRENGTH,
    EDGE_STRENGTH_RANGE,
    MarketRegime,
)
from tradeloop.flows.parameters import IndexSymbols
from tradeloop.settings import load_settings
from tradeloop.tasks.ingest import IngestReport, ingest_symbol


class IngestParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: IndexSymbols = Field(default_factory=lambda: ["NIFTY", "BANKNIFTY"])
    days_back: int = Field(
        365,
        ge=1,
        le=5000,
        description="For a symbol with no stored 1m candles: the calendar days before the last "
        "session to start from. A stored symbol is extended from the day after its last session.",
    )
    until: date | None = Field(
        None, description="Extend up to this day at most (default: the last completed session)."
    )
    seed: int = Field(7, ge=0, description="Synthetic market: the seed of every new session.")
    regime: MarketRegime = Field(
        "null", description="Synthetic market: null (no edge) or planted (domain/market/planted)."
    )
    edge_strength: float = Field(
        DEFAULT_EDGE_STRENGTH,
        ge=EDGE_STRENGTH_RANGE[0],
        le=EDGE_STRENGTH_RANGE[1],
        description="Synthetic planted regime: fraction of a large 5-minute move given back.",
    )


@flow(name="ingest")
def ingest_flow(parameters: IngestParameters | None = None) -> dict[str, IngestReport]:
    """Extend every symbol's candles to the last completed session; per symbol, the sessions
    added and the last stored session."""
    parameters = parameters or IngestParameters()
    settings = load_settings()
    return {
        symbol: ingest_symbol(
            settings,
            symbol,
            parameters.until,
            parameters.days_back,
            parameters.seed,
            parameters.regime,
            parameters.edge_strength,
        )
        for symbol in parameters.symbols
    }
