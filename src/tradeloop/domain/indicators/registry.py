"""The indicator registry: every indicator a strategy spec may name, by lower-case key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from tradeloop.domain.indicators.base import IndicatorDef, suggest_name
from tradeloop.domain.indicators.fair_value_gaps import FAIR_VALUE_GAP
from tradeloop.domain.indicators.order_blocks import ORDER_BLOCK
from tradeloop.domain.indicators.session_levels import OPENING_RANGE, PREVIOUS_SESSION, VWAP
from tradeloop.domain.indicators.supertrend import SUPERTREND
from tradeloop.domain.indicators.swings import SWINGS
from tradeloop.domain.indicators.talib_catalogue import TALIB_INDICATORS
from tradeloop.errors import SpecError


def _build(definitions: Iterable[IndicatorDef]) -> Mapping[str, IndicatorDef]:
    registry: dict[str, IndicatorDef] = {}
    for definition in definitions:
        if definition.name in registry or definition.name != definition.name.lower():
            raise ValueError(f"indicator {definition.name!r} is duplicated or not lower-case")
        registry[definition.name] = definition
    return MappingProxyType(dict(sorted(registry.items())))


NATIVE_INDICATORS: Final[tuple[IndicatorDef, ...]] = (
    SUPERTREND,
    VWAP,
    OPENING_RANGE,
    PREVIOUS_SESSION,
    SWINGS,
    ORDER_BLOCK,
    FAIR_VALUE_GAP,
)

REGISTRY: Final[Mapping[str, IndicatorDef]] = _build((*TALIB_INDICATORS, *NATIVE_INDICATORS))


def indicator_names() -> list[str]:
    """Every registered indicator name, sorted."""
    return list(REGISTRY)


def get_indicator(name: str) -> IndicatorDef:
    """The definition registered as `name`; unknown names get a "did you mean" and the list."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise SpecError(
            f"unknown indicator {name!r}{suggest_name(name, indicator_names(), 'indicators')}"
        ) from None
