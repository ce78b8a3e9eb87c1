"""Compiled kernels: one comparison or crossing on every bar, in one vectorised pass.

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
