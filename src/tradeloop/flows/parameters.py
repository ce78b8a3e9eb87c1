"""Parameter types the flows share."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from tradeloop.domain.market.instruments import index_instrument
from tradeloop.errors import UserError


def _known_indices(symbols: list[str]) -> list[str]:
    if not symbols:
        raise ValueError("give at least one index")
    try:
        return [index_instrument(symbol).symbol for symbol in symbols]
    except UserError as exc:  # pydantic reports ValueErrors only
        raise ValueError(str(exc)) from None


IndexSymbols = Annotated[list[str], AfterValidator(_known_indices)]
"""One or more indices, spelled as the index table spells them (a typo gets "did you mean")."""
