"""What is derived from one candle frame (or its arrays), computed once per object.

Compiling a spec and backtesting it both need the frame's numpy arrays (`PriceArrays`) and
its distinct symbol and interval. Reading a 1M-bar frame costs about as much as simulating it,
so a user's `compile_spec(spec, candles)` then `run_backtest(signals, candles, ...)` would pay
twice, and a research batch once per call. `derived` keeps each derived value beside the frame
while the frame lives: keyed by the frame's identity (polars frames are not hashable), dropped
by a weak-reference callback when the frame is freed, and recomputed if the frame's shape or
columns changed in place. The same holds for anything derived from the frame's immutable
`PriceArrays` (the backtest's bar blocks, the compiler's bar-close minutes).

A polars frame whose *values* are changed in place (`frame[row, "close"] = x`) keeps its
derived values: pass a new frame (`frame.clone()`, or any polars expression's result) after
such an edit. Polars' own API returns new frames, so ordinary code never meets this.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import polars as pl

T = TypeVar("T")

_Shape = tuple[int, tuple[tuple[str, str], ...]] | None
_Entry = tuple["weakref.ref[Any]", _Shape, dict[str, Any]]

_memo: dict[int, _Entry] = {}
# Re-entrant: a frame freed while the lock is held (a collection during `derived`) runs its
# callback on this thread, which takes the lock again.
_lock = threading.RLock()


def derived(source: object, name: str, compute: Callable[[], T]) -> T:
    """`compute()` the first time `name` is asked of this `source` object (a candle frame, or
    something immutable derived from one), the kept value after.

    `compute` must be a pure function of the source's contents. Two threads asking at once may
    both compute; either result is the same value."""
    key = id(source)
    shape = _shape(source)
    with _lock:
        entry = _memo.get(key)
        if entry is None or entry[0]() is not source or entry[1] != shape:
            entry = (weakref.ref(source, _forget(key)), shape, {})
            _memo[key] = entry
        values = entry[2]
        if name in values:
            kept: T = values[name]
            return kept
    value = compute()
    with _lock:
        values[name] = value
    return value


def distinct_values(frame: pl.DataFrame, column: str) -> list[Any]:
    """The distinct values of `column` (sorted), read once per frame object: a cheap pass
    when the column holds one value, as a candle frame's `symbol` and `interval` do."""

    def read() -> list[Any]:
        series = frame[column]
        if frame.height == 0:
            return []
        first = series[0]
        if first is not None and not (series != first).any():
            return [first]
        values: list[Any] = series.unique().sort(nulls_last=True).to_list()
        return values

    return derived(frame, f"distinct:{column}", read)


def _shape(source: object) -> _Shape:
    if not isinstance(source, pl.DataFrame):
        return None
    return source.height, tuple((column, str(dtype)) for column, dtype in source.schema.items())


def _forget(key: int) -> Callable[[weakref.ref[Any]], None]:
    def forget(reference: weakref.ref[Any]) -> None:
        with _lock:
            entry = _memo.get(key)
            if entry is not None and entry[0] is reference:
                del _memo[key]

    return forget


def memo_size() -> int:
    """How many objects have derived values kept (for tests of the weak references)."""
    with _lock:
        return len(_memo)
