"""Evaluates specs on one candle frame: the engine behind `compiler.compile_spec`/`compile_many`.

Entries are computed in two stages, which give the same answer as evaluating every condition on
every bar but cost about one pass over the bars per spec:

1. scan: the most selective item (a crossing, if there is one) is evaluated on every bar in one
   compiled pass (`kernels.fill_mask`) and ANDed with the time window, giving the candidate
   bars; an ``any`` entry scans each of its items and takes the union;
2. check: the remaining conditions, the warm-up checks (indicator operands finite) and the exit
   checks (a positive ATR or swing distance) are evaluated only at the candidate bars (by
   another full pass when the candidates are many: scattered reads cost more).

The bars where a condition several specs of a batch share holds are found once and kept until
the compiler says no later spec needs them (`forget`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.strategy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    IndicatorOperand,
    OperandKey,
    PriceOperand,
    operand_key,
)
from tradeloop.domain.strategy.kernels import check_at, fill_mask, flatnonzero_and
from tradeloop.domain.strategy.rules import (
    AtrStop,
    AtrTrail,
    PercentStop,
    PercentTarget,
    RMultipleTarget,
)
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.domain.strategy.validation import CLOSE_MINUTE, OPEN_MINUTE

Operand = float | IndicatorOperand | PriceOperand
Item = Condition | AllOf | AnyOf
Values = np.ndarray | float
_SESSION_LENGTH = CLOSE_MINUTE - OPEN_MINUTE
_DENSE_SHARE = 0.02
"""Above this share of the bars, a condition is checked by a full pass, not by gathers."""
_DENSE_SHARE_COMPILED = 0.08
"""The same for a comparison or crossing, whose gather and compare are one compiled loop."""
_ENTRY_BLOCK_BYTES = 8 << 20
"""A batch's entry masks are rows of blocks about this large: numpy backs allocations of 4 MB
and more with huge pages, which costs far fewer page faults than one fresh 1 MB array per spec.
A kept `Signals` keeps its block alive (at most this many bytes)."""
_MIRRORED = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "crosses_above": "crosses_below",
    "crosses_below": "crosses_above",
}

_CROSSING: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    # Crossing at t: the relation holds at t and its complement held at t-1. Both sides are
    # compared explicitly: a NaN on either bar is neither, so warm-up never "crosses".
    "crosses_above": (np.greater, np.less_equal),
    "crosses_below": (np.less, np.greater_equal),
}


def condition_key(condition: Condition) -> object:
    """Equal keys evaluate to the same array on the same candles."""
    return (condition.op, *(operand_key(operand) for operand in condition.operands))


def all_conditions(spec: StrategySpec) -> list[Condition]:
    """Every condition of the entry (groups flattened) and of the regime filter."""
    conditions: list[Condition] = []
    for item in spec.entry.items:
        if isinstance(item, Condition):
            conditions.append(item)
        else:
            conditions.extend(item.all if isinstance(item, AllOf) else item.any)
    return [*conditions, *spec.filters.regime]


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def _unchecked_operands(spec: StrategySpec) -> list[IndicatorOperand]:
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


def _sorted_union(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct bars of several sorted arrays (np.unique hashes: slower here)."""
    merged = np.concatenate(parts)
    merged.sort(kind="stable")
    if len(merged) < 2:
        return merged
    distinct = np.empty(len(merged), dtype=bool)
    distinct[0] = True
    np.not_equal(merged[1:], merged[:-1], out=distinct[1:])
    return merged[distinct]


def _members(bars: np.ndarray, held: np.ndarray) -> np.ndarray:
    """For each of the sorted `bars`, whether it is in the sorted `held`."""
    found = np.zeros(len(bars), dtype=bool)
    if len(held):
        positions = np.minimum(np.searchsorted(held, bars), len(held) - 1)
        found = held[positions] == bars
    return found


def _selectivity_rank(item: Item) -> int:
    """Crossings first (they hold on few bars), then thresholds, then the rest, groups last."""
    if not isinstance(item, Condition):
        return 3
    if item.op in _CROSSING:
        return 0
    constants = [operand for operand in item.operands if isinstance(operand, int | float)]
    return 1 if constants else 2


class Evaluator:
    """Compiles specs on the candles behind one `IndicatorCache`."""

    def __init__(
        self, cache: IndicatorCache, reused: frozenset[object] = frozenset(), batch: int = 1
    ) -> None:
        """`batch`: how many specs will be compiled, to size the blocks of entry masks."""
        self.cache = cache
        self.arrays = cache.arrays
        self.size = len(self.arrays)
        self.reused = reused
        self.zeros = _frozen(np.zeros(self.size))
        self.nans = _frozen(np.full(self.size, np.nan))
        self._everywhere = _frozen(np.ones(self.size, dtype=bool))
        self._scratch = np.empty(self.size, dtype=bool)
        self._indices = np.empty(self.size, dtype=np.int64)
        self._holding: dict[object, np.ndarray] = {}
        self._keys: dict[int, tuple[Condition, object]] = {}
        self._operands: dict[OperandKey, np.ndarray] = {}
        self._derived: dict[object, np.ndarray] = {}
        self._bar_close: np.ndarray | None = None
        self._entries_left = max(1, batch)
        self._entry_rows: list[np.ndarray] = []

    def forget(self, key: object) -> None:
        """Drop what is kept of a shared condition that no later spec needs."""
        self._holding.pop(key, None)

    def forget_indicator(self, name: str, params: tuple[tuple[str, float], ...]) -> None:
        """Drop the references to an indicator's outputs, so the cache can free them."""
        for key in [k for k in self._operands if k[1] == name and k[3:] == params]:
            del self._operands[key]

    def compile(self, spec: StrategySpec) -> Signals:
        direction = 1 if spec.direction == "long" else -1
        exit_rules = spec.exit
        stop, target, trail = exit_rules.stop_loss, exit_rules.take_profit, exit_rules.trailing_stop
        must_be_positive: list[np.ndarray] = []
        stop_fraction = 0.0
        if isinstance(stop, PercentStop):
            stop_offset, stop_fraction = self.zeros, stop.percent / 100.0
        elif isinstance(stop, AtrStop):
            stop_offset = self._atr_multiple(stop.period, stop.multiple)
            must_be_positive.append(stop_offset)
        else:
            stop_offset = self._swing_offset(stop.strength, direction)
            must_be_positive.append(stop_offset)
        trail_offset, trail_fraction = np.empty(0), 0.0
        if isinstance(trail, AtrTrail):
            trail_offset = self._atr_multiple(trail.period, trail.multiple)
            must_be_positive.append(trail_offset)
        elif trail is not None:
            trail_offset, trail_fraction = self.zeros, trail.percent / 100.0
        square_off = exit_rules.square_off
        break_even = exit_rules.break_even_after_r
        return Signals(
            spec_id=spec.id,
            direction=direction,
            entry=self._entry(spec, must_be_positive),
            stop_offset=stop_offset,
            stop_fraction=stop_fraction,
            target_offset=self.nans if target is None else self.zeros,
            target_fraction=target.percent / 100.0 if isinstance(target, PercentTarget) else 0.0,
            target_r=target.r if isinstance(target, RMultipleTarget) else 0.0,
            trail_offset=trail_offset,
            trail_fraction=trail_fraction,
            break_even_r=math.nan if break_even is None else break_even,
            max_bars_held=exit_rules.max_bars_held or 0,
            square_off_minute=-1
            if square_off is None
            else square_off.hour * 60 + square_off.minute,
        )

    # -------------------------------------------------------------------------- entries
    def _entry(self, spec: StrategySpec, must_be_positive: list[np.ndarray]) -> np.ndarray:
        window = self._window(spec)
        if spec.entry.mode == "all":
            bars = self._all_of([*spec.entry.items, *spec.filters.regime], window)
        else:
            bars = self._any_of(spec.entry.items, window)
            for condition in spec.filters.regime:
                bars = bars[self._holds_at(condition, bars)]
        for operand in _unchecked_operands(spec):
            bars = bars[np.isfinite(self._at(operand, bars))]
        for offset in must_be_positive:
            bars = bars[offset[bars] > 0.0]
        entry = self._new_entry()
        entry[bars] = True
        return entry

    def _new_entry(self) -> np.ndarray:
        """A zeroed bool[n] of its own: a row of the current block of entry masks."""
        if not self._entry_rows:
            rows = min(self._entries_left, max(1, _ENTRY_BLOCK_BYTES // max(1, self.size)))
            self._entry_rows = list(np.zeros((rows, self.size), dtype=bool)[::-1])
        self._entries_left = max(1, self._entries_left - 1)
        return self._entry_rows.pop()

    def _all_of(self, items: Sequence[Item], window: np.ndarray) -> np.ndarray:
        """Bars in the window where every item holds: the most selective item is scanned,
        the others are only checked at the bars it leaves."""
        ordered = sorted(items, key=_selectivity_rank)
        bars = self._holding_in(ordered[0], window)
        for item in ordered[1:]:
            bars = bars[self._holds_at(item, bars)]
        return bars

    def _any_of(self, items: Sequence[Item], window: np.ndarray) -> np.ndarray:
        parts = [self._holding_in(item, window) for item in items]
        return parts[0] if len(parts) == 1 else _sorted_union(parts)

    def _holding_in(self, item: Item, window: np.ndarray) -> np.ndarray:
        """Sorted bars inside the window where the item holds."""
        if isinstance(item, AllOf):
            return self._all_of(item.all, window)
        if isinstance(item, AnyOf):
            return self._any_of(item.any, window)
        key = self._key(item)
        if key not in self.reused:
            return self._scan(item, window)
        held = self._holding.get(key)
        if held is None:
            held = _frozen(self._scan(item, self._everywhere))
            self._holding[key] = held
        return held[window[held]]

    def _scan(self, condition: Condition, window: np.ndarray) -> np.ndarray:
        """Sorted bars inside the window where the condition holds, from one pass."""
        return flatnonzero_and(self._dense(condition), window, self._indices)

    def _dense(self, condition: Condition) -> np.ndarray:
        """The condition at every bar, in scratch space the next call overwrites."""
        left: Operand = condition.left
        right = condition.right
        if isinstance(right, tuple):
            low, high = (self._values(side) for side in right)
            values = self._values(left)
            np.greater_equal(values, low, out=self._scratch)
            self._scratch &= np.less_equal(values, high)
            return self._scratch
        op: str = condition.op
        if isinstance(left, int | float):
            left, op, right = right, _MIRRORED[op], left
        values = self._values(left)
        assert isinstance(values, np.ndarray), "validation refuses constant-only conditions"
        return fill_mask(values, self._values(right), op, self._scratch)

    def _holds_at(self, item: Item, bars: np.ndarray) -> np.ndarray:
        """The item's truth at `bars` only (one bool per element of `bars`)."""
        if isinstance(item, AllOf | AnyOf):
            members = item.all if isinstance(item, AllOf) else item.any
            combine = np.logical_and if isinstance(item, AllOf) else np.logical_or
            result = self._holds_at(members[0], bars)
            for member in members[1:]:
                combine(result, self._holds_at(member, bars), out=result)
            return result
        held = self._holding.get(self._key(item))
        if held is not None:
            return _members(bars, held)
        if isinstance(item.right, tuple):
            if len(bars) > self.size * _DENSE_SHARE:
                # Gathering float64 operands at many scattered bars misses the cache on each
                # one; one sequential pass and a gather from the 1-byte mask costs less.
                return self._dense(item)[bars]
            left = self._at(item.left, bars)
            low, high = (self._at(side, bars) for side in item.right)
            result = np.greater_equal(left, low)
            result &= np.less_equal(left, high)
            return result
        if len(bars) > self.size * _DENSE_SHARE_COMPILED:
            return self._dense(item)[bars]
        op: str = item.op
        left_operand: Operand = item.left
        right_operand: Operand = item.right
        if isinstance(left_operand, int | float):
            left_operand, op, right_operand = right_operand, _MIRRORED[op], left_operand
        values = self._values(left_operand)
        assert isinstance(values, np.ndarray), "validation refuses constant-only conditions"
        return check_at(values, self._values(right_operand), op, bars)

    def _key(self, condition: Condition) -> object:
        """`condition_key`, remembered per condition object for the life of the batch."""
        known = self._keys.get(id(condition))
        if known is None:
            # Holding the condition keeps its id from being reused by another object.
            known = self._keys[id(condition)] = (condition, condition_key(condition))
        return known[1]

    def _values(self, operand: Operand) -> Values:
        if isinstance(operand, IndicatorOperand):
            key = operand.key
            values = self._operands.get(key)
            if values is None:
                values = self.cache.get(operand.indicator, operand.params, operand.output_name)
                self._operands[key] = values
            return values
        if isinstance(operand, PriceOperand):
            prices: np.ndarray = getattr(self.arrays, operand.price)
            return prices
        return float(operand)

    def _at(self, operand: Operand, bars: np.ndarray) -> Values:
        values = self._values(operand)
        return values[bars] if isinstance(values, np.ndarray) else values

    # ---------------------------------------------------------------------------- exits
    def _atr_multiple(self, period: int, multiple: float) -> np.ndarray:
        key = ("atr", period, multiple)
        offset = self._derived.get(key)
        if offset is None:
            offset = _frozen(self.cache.get("atr", {"period": period}, "atr") * multiple)
            self._derived[key] = offset
        return offset

    def _swing_offset(self, strength: int, direction: int) -> np.ndarray:
        """close - last swing low (long) or last swing high - close (short)."""
        key = ("swing", strength, direction)
        offset = self._derived.get(key)
        if offset is None:
            params = {"left": strength, "right": strength}
            if direction == 1:
                offset = self.arrays.close - self.cache.get("swings", params, "low")
            else:
                offset = self.cache.get("swings", params, "high") - self.arrays.close
            offset = _frozen(offset)
            self._derived[key] = offset
        return offset

    # --------------------------------------------------------------------------- timing
    def _window(self, spec: StrategySpec) -> np.ndarray:
        """Bars whose close is inside the entry window and before the square-off."""
        window = spec.filters.time_window
        square_off = spec.exit.square_off
        start = OPEN_MINUTE if window is None else window.start.hour * 60 + window.start.minute
        end = CLOSE_MINUTE if window is None else window.end.hour * 60 + window.end.minute
        if square_off is not None:
            end = min(end, square_off.hour * 60 + square_off.minute - 1)
        key = ("window", start, end)
        mask = self._derived.get(key)
        if mask is None:
            close = self._bar_close_minutes()
            mask = np.greater_equal(close, start - OPEN_MINUTE)
            mask &= np.less_equal(close, end - OPEN_MINUTE)
            mask = _frozen(mask)
            self._derived[key] = mask
        return mask

    def _bar_close_minutes(self) -> np.ndarray:
        """Minutes from 09:15 to each bar's close (a 1h bar from 15:15 closes at 15:30)."""
        if self._bar_close is None:
            minutes = self.arrays.minute_of_session + self.arrays.bar_minutes
            self._bar_close = np.minimum(minutes, _SESSION_LENGTH).astype(np.int16)
        return self._bar_close
