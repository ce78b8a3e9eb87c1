"""The data flow: fill the candle store (synthetic market for now; imports via the CLI)."""

from __future__ import annotations

from datetime import date

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.market.planted import (
    DEFAULT_EDGE_STRENGTH,
    EDGE_STRENGTH_RANGE,
    MarketRegime,
)
from tradeloop.settings import load_settings
from tradeloop.storage.candles import WriteReport
from tradeloop.tasks.data import synthesize_symbol


class SynthParameters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: list[str] = Field(default_factory=lambda: ["NIFTY", "BANKNIFTY"])
    days: int = Field(250, ge=1, le=5000, description="Trading sessions per symbol.")
    start: date = date(2025, 1, 1)
    seed: int = Field(7, ge=0)
    regime: MarketRegime = Field(
        "null", description="null: no edge; planted: the edge of domain/market/planted.py."
    )
    edge_strength: float = Field(
        DEFAULT_EDGE_STRENGTH,
        ge=EDGE_STRENGTH_RANGE[0],
        le=EDGE_STRENGTH_RANGE[1],
        description="Planted regime: fraction of a large 5-minute move given back.",
    )


@flow(name="synthesize-market", flow_run_name="synth-{parameters.days}d")
def synthesize_flow(parameters: SynthParameters | None = None) -> dict[str, WriteReport]:
    """Generate a deterministic synthetic market for each symbol and store it."""
    parameters = parameters or SynthParameters()
    settings = load_settings()
    return {
        symbol: synthesize_symbol(
            settings,
            symbol,
            parameters.days,
            parameters.start,
            parameters.seed,
            parameters.regime,
            parameters.edge_strength,
        )
        for symbol in parameters.symbols
    }
