"""Compiled kernels: one comparison or crossing on every bar, in one vectorised pass.

numpy needs two compares, two shifted views and an AND (three 1 MB temporaries) for a crossing;
these loops write the answer straight into a caller-owned bool array, with no branch in the
loop body so LLVM vectorises them. Each operator has its own loop: a comparison chosen inside
the loop would stop the vectorisation. NaN compares false, exactly as in numpy, so warm-up bars
never hold and a crossing needs both bars finite.
"""

from __future__ import annotations

import sys
from typing import Final

import numpy as np
from numba import njit

OP_CODES: Final[dict[str, int]] = {
    "<": 0,
    "<=": 1,
    ">": 2,
    ">=": 3,
    "crosses_above": 4,
    "crosses_below": 5,
}


@njit(cache=True)
def _mask_arrays(
    left: np.ndarray, right: np.ndarray, op: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    size = len(left)
    if op == 0:
        for bar in range(size):
            out[bar] = left[bar] < right[bar]
    elif op == 1:
        for bar in range(size):
            out[bar] = left[bar] <= right[bar]
    elif op == 2:
        for bar in range(size):
            out[bar] = left[bar] > right[bar]
    elif op == 3:
        for bar in range(size):
            out[bar] = left[bar] >= right[bar]
    elif op == 4:
        for bar in range(1, size):
            out[bar] = (left[bar] > right[bar]) & (left[bar - 1] <= right[bar - 1])
    else:
        for bar in range(1, size):
            out[bar] = (left[bar] < right[bar]) & (left[bar - 1] >= right[bar - 1])
    if op >= 4 and size:
        out[0] = False


@njit(cache=True)
def _mask_constant(
    left: np.ndarray, right: float, op: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    size = len(left)
    if op == 0:
        for bar in range(size):
            out[bar] = left[bar] < right
    elif op == 1:
        for bar in range(size):
            out[bar] = left[bar] <= right
    elif op == 2:
        for bar in range(size):
            out[bar] = left[bar] > right
    elif op == 3:
        for bar in range(size):
            out[bar] = left[bar] >= right
    elif op == 4:
        for bar in range(1, size):
            out[bar] = (left[bar] > right) & (left[bar - 1] <= right)
    else:
        for bar in range(1, size):
            out[bar] = (left[bar] < right) & (left[bar - 1] >= right)
    if op >= 4 and size:
        out[0] = False


def fill_mask(left: np.ndarray, right: np.ndarray | float, op: str, out: np.ndarray) -> np.ndarray:
    """Write `left op right` at every bar into the bool array `out` and return it."""
    if isinstance(right, np.ndarray):
        _mask_arrays(left, right, OP_CODES[op], out)
    else:
        _mask_constant(left, float(right), OP_CODES[op], out)
    return out


@njit(cache=True)
def _check_arrays(
    left: np.ndarray, right: np.ndarray, op: int, bars: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    for index in range(len(bars)):
        bar = bars[index]
        if op == 0:
            out[index] = left[bar] < right[bar]
        elif op == 1:
            out[index] = left[bar] <= right[bar]
        elif op == 2:
            out[index] = left[bar] > right[bar]
        elif op == 3:
            out[index] = left[bar] >= right[bar]
        elif bar == 0:
            out[index] = False
        elif op == 4:
            out[index] = (left[bar] > right[bar]) & (left[bar - 1] <= right[bar - 1])
        else:
            out[index] = (left[bar] < right[bar]) & (left[bar - 1] >= right[bar - 1])


@njit(cache=True)
def _check_constant(
    left: np.ndarray, right: float, op: int, bars: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    for index in range(len(bars)):
        bar = bars[index]
        if op == 0:
            out[index] = left[bar] < right
        elif op == 1:
            out[index] = left[bar] <= right
        elif op == 2:
            out[index] = left[bar] > right
        elif op == 3:
            out[index] = left[bar] >= right
        elif bar == 0:
            out[index] = False
        elif op == 4:
            out[index] = (left[bar] > right) & (left[bar - 1] <= right)
        else:
            out[index] = (left[bar] < right) & (left[bar - 1] >= right)


def check_at(left: np.ndarray, right: np.ndarray | float, op: str, bars: np.ndarray) -> np.ndarray:
    """`left op right` at the sorted, non-negative `bars` only: one gather and compare per bar,
    with no temporaries (a crossing also reads the bar before; never true on bar 0)."""
    out = np.empty(len(bars), dtype=bool)
    if isinstance(right, np.ndarray):
        _check_arrays(left, right, OP_CODES[op], bars, out)
    else:
        _check_constant(left, float(right), OP_CODES[op], bars, out)
    return out


@njit(cache=True)
def _nonzero_and(
    mask_words: np.ndarray,
    window_words: np.ndarray,
    mask: np.ndarray,
    window: np.ndarray,
    out: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Indices where both bool arrays are true, read eight bars (one 64-bit word) at a time so
    that the many all-false words are skipped; the bars past the last whole word one by one."""
    count = 0
    for word_index in range(len(mask_words)):
        word = mask_words[word_index] & window_words[word_index]
        if word == 0:
            continue
        base = word_index * 8
        for byte in range(8):
            out[count] = base + byte
            count += (word >> np.uint64(8 * byte)) & np.uint64(1)
    for bar in range(len(mask_words) * 8, len(mask)):
        out[count] = bar
        count += mask[bar] & window[bar]
    return count


def flatnonzero_and(mask: np.ndarray, window: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """`np.flatnonzero(mask & window)` for two bool arrays of one length, without the
    intermediate; `scratch` is an int64 array at least that long that the next call overwrites."""
    if sys.byteorder != "little":  # pragma: no cover - the words are read little-endian
        return np.flatnonzero(mask & window)
    whole = len(mask) - len(mask) % 8
    count = _nonzero_and(
        np.ascontiguousarray(mask[:whole]).view(np.uint64),
        np.ascontiguousarray(window[:whole]).view(np.uint64),
        mask,
        window,
        scratch,
    )
    return scratch[:count].copy()
