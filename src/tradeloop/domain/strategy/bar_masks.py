"""Bar masks: one comparison or crossing on every bar in one vectorised pass, and the
bitsets (one bit per bar, `np.packbits(..., bitorder="little")`) the compiler combines.

numpy needs two compares, two shifted views and an AND (three 1 MB temporaries) for a crossing;
these loops write the answer straight into a caller-owned bool array, with no branch in the
loop body so LLVM vectorises them. Each operator has its own loop: a comparison chosen inside
the loop would stop the vectorisation. NaN compares false, exactly as in numpy, so warm-up bars
never hold and a crossing needs both bars finite.
"""

from __future__ import annotations

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
def _unpack(bits: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    # Every byte is written, without a branch: a test for empty bytes mispredicts on sparse
    # signals and costs four times the stores it saves.
    size = len(out)
    whole = size // 8
    for index in range(whole):
        byte = bits[index]
        base = index * 8
        for bit in range(8):
            out[base + bit] = (byte >> bit) & 1
    for bar in range(whole * 8, size):
        out[bar] = (bits[bar // 8] >> (bar % 8)) & 1


def unpack_bits(bits: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write the little-endian bitset `bits` (`np.packbits(..., bitorder="little")` of a bool
    array as long as `out`) into the bool array `out`, every element, and return it."""
    _unpack(bits, out.view(np.uint8))
    return out


@njit(cache=True)
def _leading_non_finite(values: np.ndarray) -> int:  # pragma: no cover - compiled
    for bar in range(len(values)):
        if np.isfinite(values[bar]):
            return bar
    return len(values)


def finite_bits(values: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """The little-endian bitset of `np.isfinite(values)`; `scratch` is a bool array as long.

    An indicator is usually NaN while it warms up and finite from then on: when the sum of the
    rest is finite (a NaN or an infinity anywhere makes it non-finite) the bitset is built from
    the warm-up length alone, without writing a mask. Otherwise, or if the sum overflows, the
    mask is computed bar by bar.
    """
    size = len(values)
    first = _leading_non_finite(values)
    with np.errstate(over="ignore", invalid="ignore"):
        rest = values[first:].sum()
    if not np.isfinite(rest):
        return np.packbits(np.isfinite(values, out=scratch), bitorder="little")
    bits = np.zeros((size + 7) // 8, dtype=np.uint8)
    bits[(first + 7) // 8 :] = 0xFF
    if first % 8:
        bits[first // 8] = (0xFF << (first % 8)) & 0xFF
    if size % 8:
        bits[-1] &= (1 << (size % 8)) - 1
    return bits
