"""The relaxable plausibility rules of candle imports, as a settings section.

A module of its own, without polars: `Settings` imports it, and `tradeloop --help` must start
without the heavy libraries. The checks are in `tradeloop.domain.market.plausibility`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PlausibilityRules(BaseModel):
    """How far candles may stray before an import or a fetch refuses them: the `[plausibility]`
    settings section (`TRADELOOP_PLAUSIBILITY__*`); `tradeloop data import` and `tradeloop data
    fetch` relax it per run (`--max-move`, `--allow-future`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_move_fraction: float = Field(
        0.2,
        gt=0,
        description=(
            "Largest move of any price of a bar from the close before it, as a fraction "
            "(0.2 = 20%); real index data gaps ±10% on a crash day."
        ),
    )
    allow_future: bool = Field(
        False, description="Accept bars that open after now (synthetic or test series)."
    )
