"""Evaluates a batch of specs on one candle frame: the engine behind `compile_spec`/`compile_many`.

Each distinct check of the batch (`checks.py`: a condition, an operand being ready, an exit
distance being positive, the entry window) is evaluated once, on every bar, in one vectorised
pass, and kept as a bitset: one bit per bar, an eighth of a bool array. The plan (`plan.py`)
answers a check right after the last indicator it reads is computed, while that indicator is
still in the CPU cache, and drops the indicator once nothing else reads it. A spec's entry is
then a few word-wise ANDs and ORs of its checks' bitsets, unpacked once into its bool array;
this gives exactly the entries of evaluating every condition on every bar and combining the
bool arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.market.frame_memo import derived
from tradeloop.domain.market.session import MINUTES as _SESSION_LENGTH
from tradeloop.domain.strategy.bar_masks import fill_mask, finite_bits, unpack_bits
from tradeloop.domain.strategy.checks import (
    AtrOffset,
    Check,
    ConditionCheck,
    ExitOffset,
    FiniteCheck,
    Need,
    PositiveCheck,
    SwingOffset,
    WindowCheck,
    direction_of,
    exit_offsets,
    stop_offset,
    unchecked_operands,
)
from tradeloop.domain.strategy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    IndicatorOperand,
    PriceOperand,
)
from tradeloop.domain.strategy.plan import plan_batch
from tradeloop.domain.strategy.rules import (
    AtrStop,
    AtrTrail,
    PercentStop,
    PercentTarget,
    PercentTrail,
    RMultipleTarget,
)
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec

Operand = float | IndicatorOperand | PriceOperand
Item = Condition | AllOf | AnyOf
Values = np.ndarray | float
_ENTRY_BLOCK_BYTES = 64 << 20
"""A batch's entry masks are rows of blocks about this large. Above glibc's mmap threshold (at
most 32 MB) a block is mapped on its own, outside the heap the indicators' arrays are recycled
in, so it does not push fresh (page-faulting) memory under the next indicator; numpy backs it
with huge pages. A kept `Signals` keeps its block alive (at most this many bytes)."""
_MIRRORED = {
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "crosses_above": "crosses_below",
    "crosses_below": "crosses_above",
}


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


class Evaluator:
    """Compiles batches of specs on the candles behind one `IndicatorCache`."""

    def __init__(self, cache: IndicatorCache, drop_indicators: bool = False) -> None:
        """`drop_indicators`: evict each indicator from the cache once the batch no longer
        reads it (for a cache private to one batch; a shared cache keeps everything)."""
        self.cache = cache
        self.arrays = cache.arrays
        self.size = len(self.arrays)
        self.drop_indicators = drop_indicators
        self.zeros = _frozen(np.zeros(self.size))
        self.nans = _frozen(np.full(self.size, np.nan))
        self._scratch = np.empty(self.size, dtype=bool)
        self._bits: dict[Check, np.ndarray] = {}
        self._offsets: dict[ExitOffset, np.ndarray] = {}
        self._entries_left = 1
        self._entry_rows: list[np.ndarray] = []

    def compile(self, specs: Sequence[StrategySpec]) -> list[Signals]:
        """Signals of each of the distinct `specs`, in their order."""
        compiled: list[Signals | None] = [None] * len(specs)
        self._entries_left = max(1, len(specs))
        for step in plan_batch(specs):
            for need in step.answer:
                self._answer(need)
            for index in step.assemble:
                compiled[index] = self._signals(specs[index])
            if self.drop_indicators:
                for name, params in step.drop_indicators:
                    self.cache.evict(name, dict(params))
            for need in step.drop_answers:
                if isinstance(need, AtrOffset | SwingOffset):
                    del self._offsets[need]
                else:
                    del self._bits[need]
        missing = [
            spec.name for spec, signals in zip(specs, compiled, strict=True) if signals is None
        ]
        assert not missing, f"the batch plan never assembled {missing}"
        return [signals for signals in compiled if signals is not None]

    # ------------------------------------------------------------------------ answers
    def _answer(self, need: Need) -> None:
        if isinstance(need, AtrOffset | SwingOffset):
            self._offset(need)
            return
        if isinstance(need, FiniteCheck):
            values = self._values(need.operand)
            assert isinstance(values, np.ndarray)
            self._bits[need] = _frozen(finite_bits(values, self._scratch))
            return
        if isinstance(need, ConditionCheck):
            mask = self._dense(need.condition)
        elif isinstance(need, PositiveCheck):
            mask = np.greater(self._offset(need.offset), 0.0, out=self._scratch)
        else:
            mask = self._window(need)
        self._bits[need] = _frozen(np.packbits(mask, bitorder="little"))

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

    def _values(self, operand: Operand) -> Values:
        if isinstance(operand, IndicatorOperand):
            return self.cache.get(operand.indicator, operand.params, operand.output_name)
        if isinstance(operand, PriceOperand):
            prices: np.ndarray = getattr(self.arrays, operand.price)
            return prices
        return float(operand)

    def _offset(self, offset: ExitOffset) -> np.ndarray:
        """The exit array, computed once per batch."""
        values = self._offsets.get(offset)
        if values is not None:
            return values
        if isinstance(offset, AtrOffset):
            values = self.cache.get("atr", {"period": offset.period}, "atr")
        else:
            params = {"left": offset.strength, "right": offset.strength}
            if offset.direction == 1:
                values = _frozen(self.arrays.close - self.cache.get("swings", params, "low"))
            else:
                values = _frozen(self.cache.get("swings", params, "high") - self.arrays.close)
        self._offsets[offset] = values
        return values

    def _window(self, window: WindowCheck) -> np.ndarray:
        """Bars whose close is inside the window (minutes from 09:15; a 1h bar from 15:15
        closes at 15:30), in scratch space."""
        close = self._bar_close_minutes()
        np.greater_equal(close, window.start, out=self._scratch)
        self._scratch &= close <= window.end
        return self._scratch

    def _bar_close_minutes(self) -> np.ndarray:
        """Minutes from 09:15 to each bar's close, as int16 (a quarter of the int64 reads);
        once per `PriceArrays` object."""
        arrays = self.arrays
        return derived(arrays, "bar_close_minutes", lambda: _bar_close_minutes(arrays))

    # ----------------------------------------------------------------------- assembly
    def _signals(self, spec: StrategySpec) -> Signals:
        exit_rules = spec.exit
        stop, target, trail = exit_rules.stop_loss, exit_rules.take_profit, exit_rules.trailing_stop
        stop_part = stop_offset(spec)
        trail_values, trail_fraction, trail_scale = np.empty(0), 0.0, 1.0
        if isinstance(trail, AtrTrail):
            trail_values, trail_scale = self._offsets[AtrOffset(trail.period)], trail.multiple
        elif isinstance(trail, PercentTrail):
            trail_values, trail_fraction = self.zeros, trail.percent / 100.0
        square_off = exit_rules.square_off
        break_even = exit_rules.break_even_after_r
        return Signals(
            spec_id=spec.id,
            direction=direction_of(spec),
            entry=self._entry(spec),
            stop_offset=self.zeros if stop_part is None else self._offsets[stop_part],
            stop_fraction=stop.percent / 100.0 if isinstance(stop, PercentStop) else 0.0,
            stop_scale=stop.multiple if isinstance(stop, AtrStop) else 1.0,
            target_offset=self.nans if target is None else self.zeros,
            target_fraction=target.percent / 100.0 if isinstance(target, PercentTarget) else 0.0,
            target_r=target.r if isinstance(target, RMultipleTarget) else 0.0,
            trail_offset=trail_values,
            trail_fraction=trail_fraction,
            trail_scale=trail_scale,
            break_even_r=math.nan if break_even is None else break_even,
            max_bars_held=exit_rules.max_bars_held or 0,
            square_off_minute=-1
            if square_off is None
            else square_off.hour * 60 + square_off.minute,
        )

    def _entry(self, spec: StrategySpec) -> np.ndarray:
        bits = self._bits[WindowCheck.of(spec)].copy()
        if spec.entry.mode == "all":
            for item in spec.entry.items:
                bits &= self._item_bits(item)
        else:
            bits &= self._any_bits(spec.entry.items)
        for condition in spec.filters.regime:
            bits &= self._bits[ConditionCheck.of(condition)]
        for operand in unchecked_operands(spec):
            bits &= self._bits[FiniteCheck.of(operand)]
        for offset in exit_offsets(spec):
            bits &= self._bits[PositiveCheck(offset)]
        return unpack_bits(bits, self._new_entry())

    def _item_bits(self, item: Item) -> np.ndarray:
        """The item's bitset (a check's own, read-only one for a lone condition)."""
        if isinstance(item, Condition):
            return self._bits[ConditionCheck.of(item)]
        if isinstance(item, AnyOf):
            return self._any_bits(item.any)
        bits = self._bits[ConditionCheck.of(item.all[0])].copy()
        for condition in item.all[1:]:
            bits &= self._bits[ConditionCheck.of(condition)]
        return bits

    def _any_bits(self, items: Sequence[Item]) -> np.ndarray:
        bits = self._item_bits(items[0]).copy()
        for item in items[1:]:
            bits |= self._item_bits(item)
        return bits

    def _new_entry(self) -> np.ndarray:
        """A bool[n] of its own (not initialised): a row of the current block of entry masks."""
        if not self._entry_rows:
            rows = min(self._entries_left, max(1, _ENTRY_BLOCK_BYTES // max(1, self.size)))
            self._entry_rows = list(np.empty((rows, self.size), dtype=bool)[::-1])
        self._entries_left = max(1, self._entries_left - 1)
        return self._entry_rows.pop()


def _bar_close_minutes(arrays: PriceArrays) -> np.ndarray:
    # Narrowed first (minutes of a day fit int16), then added and capped in place: one pass
    # over the int64 minutes instead of three.
    minutes = arrays.minute_of_session.astype(np.int16)
    np.add(minutes, arrays.bar_minutes, out=minutes)
    return _frozen(np.minimum(minutes, _SESSION_LENGTH, out=minutes))
