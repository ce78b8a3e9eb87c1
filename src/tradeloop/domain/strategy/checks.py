"""What compiling a spec needs: the yes/no checks its entry is made of, and its exit arrays.

A check is a question asked of every bar: does this condition hold, is this operand ready
(finite), is this exit distance positive, does this bar close inside the entry window? An exit
array is a per-bar price distance (an ATR multiple, the distance to the last swing). Each names
the indicators it reads, so a batch can compute an indicator, answer everything that waits on it
while it is still in the CPU cache, and drop it. Equal checks (the same condition in two specs)
compare equal and are answered once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tradeloop.domain.market.session import CLOSE_MINUTE, OPEN_MINUTE, minute_of_day
from tradeloop.domain.strategy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    IndicatorOperand,
    operand_key,
)
from tradeloop.domain.strategy.rules import AtrStop, AtrTrail, SwingStop
from tradeloop.domain.strategy.spec import StrategySpec

IndicatorKey = tuple[str, tuple[tuple[str, float], ...]]
"""An indicator and its parameters, sorted: what the `IndicatorCache` computes once."""


def indicator_key(operand: IndicatorOperand) -> IndicatorKey:
    return operand.indicator, tuple(sorted(operand.params.items()))


def condition_key(condition: Condition) -> object:
    """Equal keys evaluate to the same array on the same candles."""
    return (condition.op, *(operand_key(operand) for operand in condition.operands))


@dataclass(frozen=True)
class ConditionCheck:
    """The condition holds on the bar."""

    key: object
    condition: Condition = field(compare=False)

    @classmethod
    def of(cls, condition: Condition) -> ConditionCheck:
        return cls(condition_key(condition), condition)

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return frozenset(
            indicator_key(operand)
            for operand in self.condition.operands
            if isinstance(operand, IndicatorOperand)
        )


@dataclass(frozen=True)
class FiniteCheck:
    """The indicator output is finite on the bar: warmed up, and ready in this session."""

    key: object
    operand: IndicatorOperand = field(compare=False)

    @classmethod
    def of(cls, operand: IndicatorOperand) -> FiniteCheck:
        return cls(operand.key, operand)

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return frozenset({indicator_key(self.operand)})


@dataclass(frozen=True)
class AtrOffset:
    """ATR(`period`) at each bar: an ATR stop or trailing stop is this times its multiple."""

    period: int

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return frozenset({atr_key(self.period)})


@dataclass(frozen=True)
class SwingOffset:
    """close - last swing low (`direction` +1, a long's stop) or last swing high - close (-1)."""

    strength: int
    direction: int

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return frozenset({swings_key(self.strength)})


ExitOffset = AtrOffset | SwingOffset


@dataclass(frozen=True)
class PositiveCheck:
    """The exit distance is positive on the bar: an ATR that is warm and not zero (its
    multiple is positive), a price that has not already broken the swing."""

    offset: ExitOffset

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return self.offset.indicators


@dataclass(frozen=True)
class WindowCheck:
    """The bar closes inside the entry window and before the square-off. Minutes from 09:15."""

    start: int
    end: int

    @classmethod
    def of(cls, spec: StrategySpec) -> WindowCheck:
        window = spec.filters.time_window
        square_off = spec.exit.square_off
        start = OPEN_MINUTE if window is None else minute_of_day(window.start)
        end = CLOSE_MINUTE if window is None else minute_of_day(window.end)
        if square_off is not None:
            end = min(end, square_off.hour * 60 + square_off.minute - 1)
        return cls(start - OPEN_MINUTE, end - OPEN_MINUTE)

    @property
    def indicators(self) -> frozenset[IndicatorKey]:
        return frozenset()


Check = ConditionCheck | FiniteCheck | PositiveCheck | WindowCheck
Need = Check | ExitOffset
"""Something a batch computes once, after the indicators it reads, and shares."""


def atr_key(period: int) -> IndicatorKey:
    return "atr", (("period", float(period)),)


def swings_key(strength: int) -> IndicatorKey:
    return "swings", (("left", float(strength)), ("right", float(strength)))


def direction_of(spec: StrategySpec) -> int:
    return 1 if spec.direction == "long" else -1


def stop_offset(spec: StrategySpec) -> ExitOffset | None:
    """The per-bar part of the stop distance; None for a percent stop."""
    stop = spec.exit.stop_loss
    if isinstance(stop, AtrStop):
        return AtrOffset(stop.period)
    if isinstance(stop, SwingStop):
        return SwingOffset(stop.strength, direction_of(spec))
    return None


def trail_offset(spec: StrategySpec) -> AtrOffset | None:
    """The per-bar trailing distance; None without a trailing stop or for a percent trail."""
    trail = spec.exit.trailing_stop
    return AtrOffset(trail.period) if isinstance(trail, AtrTrail) else None


def exit_offsets(spec: StrategySpec) -> list[ExitOffset]:
    """The exit arrays of the spec; each must be positive at a signal bar."""
    offsets = (stop_offset(spec), trail_offset(spec))
    return list(dict.fromkeys(offset for offset in offsets if offset is not None))


def all_conditions(spec: StrategySpec) -> list[Condition]:
    """Every condition of the entry (groups flattened) and of the regime filter."""
    conditions: list[Condition] = []
    for item in spec.entry.items:
        if isinstance(item, Condition):
            conditions.append(item)
        else:
            conditions.extend(item.all if isinstance(item, AllOf) else item.any)
    return [*conditions, *spec.filters.regime]


def unchecked_operands(spec: StrategySpec) -> list[IndicatorOperand]:
    """Indicator operands an entry may hold without reading: those of conditions under an OR.

    A condition that holds has finite operands (a NaN compares false), so the operands of
    conditions that are ANDed into the entry are checked by the conditions themselves.
    """
    ored: list[Condition] = []
    for item in spec.entry.items:
        if isinstance(item, AnyOf):
            ored.extend(item.any)
        elif spec.entry.mode == "any":
            ored.extend([item] if isinstance(item, Condition) else item.all)
    operands = {
        operand_key(operand): operand
        for condition in ored
        for operand in condition.operands
        if isinstance(operand, IndicatorOperand)
    }
    return list(operands.values())


def needs_of(spec: StrategySpec) -> list[Need]:
    """Every check and exit array the spec's signals are made of, each once."""
    needs: dict[Need, None] = dict.fromkeys(
        [
            WindowCheck.of(spec),
            *(ConditionCheck.of(condition) for condition in all_conditions(spec)),
            *(FiniteCheck.of(operand) for operand in unchecked_operands(spec)),
        ]
    )
    for offset in exit_offsets(spec):
        needs.update(dict.fromkeys([offset, PositiveCheck(offset)]))
    return list(needs)


def indicators_read(needs: Iterable[Need]) -> frozenset[IndicatorKey]:
    """Every (indicator, params) the needs read."""
    return frozenset().union(*(need.indicators for need in needs))


def indicators_of(spec: StrategySpec) -> frozenset[IndicatorKey]:
    """Every (indicator, params) the spec reads, its exits included."""
    return indicators_read(needs_of(spec))
