"""A candle store's partitions: one per symbol, interval and UTC year, and how a sorted frame is
cut into them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import polars as pl

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PartitionKey(NamedTuple):
    symbol: str
    interval: str
    year: int

    @property
    def name(self) -> str:
        return f"symbol={self.symbol}/interval={self.interval}/year={self.year}"


def split_by_year(frame: pl.DataFrame) -> Iterator[tuple[int, pl.DataFrame]]:
    """Zero-copy slices of a ts-sorted frame, one per UTC year."""
    micros = frame["ts"].to_physical().to_numpy()
    first: datetime = frame["ts"][0]
    last: datetime = frame["ts"][-1]
    for year in range(first.year, last.year + 1):
        low, high = np.searchsorted(micros, [year_start_us(year), year_start_us(year + 1)])
        if high > low:
            yield year, frame.slice(int(low), int(high - low))


def year_start_us(year: int) -> int:
    return (datetime(year, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
