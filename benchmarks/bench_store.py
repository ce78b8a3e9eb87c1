"""Candle store speed: bulk write and a warm 6-month ranged read, against plain polars Parquet.

Writes 5.3M one-minute bars (8 symbols x seven years of real NSE sessions) through
`ParquetCandleStore.write` (validation, upsert, fsynced atomic partitions included), then reads
one symbol's first half of 2023 warm. Peers in the same run, on the same rows and partitions:
plain `DataFrame.write_parquet` (polars defaults, and with the store's compression; neither
validates nor fsyncs) and `pl.scan_parquet(...).filter(...)` for the read.

Targets on a 2-core machine: write >= 2M rows/s; warm 6-month read <= 50 ms.
Timings are medians of runs taken in turns (store, peer, store, ...): a busy machine slows
both alike, so the ratios hold better than the absolute numbers.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.storage._files import COMPRESSION, ROW_GROUP_SIZE
from tradeloop.storage.candles import ParquetCandleStore

SYMBOLS = ("NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY", "NIFTYNXT50", "SENSEX", "BANKEX", "IT")
FIRST_DAY, LAST_DAY = date(2020, 1, 1), date(2026, 12, 31)
READ_START = datetime(2023, 1, 1, tzinfo=IST).astimezone(UTC)
READ_END = datetime(2023, 7, 1, tzinfo=IST).astimezone(UTC)
WRITE_TARGET_ROWS_PER_S = 2_000_000
READ_TARGET_MS = 50.0
WRITE_RUNS = 3
READ_RUNS = 30


def scratch_dir() -> Path:
    """The repository's `.tmp/`: a benchmark writes nothing outside the repository."""
    folder = Path(__file__).resolve().parent.parent / ".tmp"
    folder.mkdir(exist_ok=True)
    return folder


def synthetic_minutes(symbol: str, stamps: np.ndarray, seed: int) -> pl.DataFrame:
    """A random-walk candle frame over `stamps` (numpy only: no Python loop per bar)."""
    rng = np.random.default_rng(seed)
    count = stamps.size
    close = 20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0005, count)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0003, (2, count)))
    return pl.DataFrame(
        {
            "symbol": symbol,
            "interval": "1m",
            "ts": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "open": np.round(open_, 2),
            "high": np.round(np.maximum(open_, close) * (1 + wick[0]), 2) + 0.01,
            "low": np.round(np.minimum(open_, close) * (1 - wick[1]), 2) - 0.01,
            "close": np.round(close, 2),
            "volume": rng.integers(0, 50_000, count),
            "oi": pl.Series([None] * count, dtype=pl.Int64),
        }
    )


def interleaved_medians(
    actions: dict[str, Callable[[], object]], runs: int, warm_up: bool
) -> dict[str, float]:
    """Median seconds of each action, run in turns so a busy machine slows them alike."""
    if warm_up:
        for action in actions.values():
            action()
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in timings.items()}


def peer_writer(frames: list[pl.DataFrame], root: Path, **options: Any) -> Callable[[], None]:
    """Plain polars: the same year partitions, one `write_parquet` each."""

    def write() -> None:
        target = Path(tempfile.mkdtemp(dir=root))
        for frame in frames:
            for (year,), part in frame.group_by(pl.col("ts").dt.year()):
                path = target / f"symbol={frame['symbol'][0]}" / f"year={year}" / "data.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                part.write_parquet(path, **options)

    return write


def main() -> None:
    calendar = NSECalendar.default()
    stamps = calendar.minute_bars(FIRST_DAY, LAST_DAY)
    frames = [synthetic_minutes(symbol, stamps, seed) for seed, symbol in enumerate(SYMBOLS)]
    rows = sum(frame.height for frame in frames)
    print(f"{rows:,} one-minute rows: {len(SYMBOLS)} symbols x {FIRST_DAY}..{LAST_DAY}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="bench_store_", dir=scratch_dir()) as scratch:
        root = Path(scratch)

        def store_write() -> None:
            store = ParquetCandleStore(Path(tempfile.mkdtemp(dir=root)), calendar)
            for frame in frames:
                store.write(frame)

        writes = interleaved_medians(
            {
                "store.write": store_write,
                "polars write_parquet (defaults)": peer_writer(frames, root),
                f"polars write_parquet ({COMPRESSION})": peer_writer(
                    frames, root, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE
                ),
            },
            WRITE_RUNS,
            warm_up=False,
        )

        store = ParquetCandleStore(root / "read", calendar)
        store.write(frames[0])
        peer_files = [str(path) for path in sorted((root / "read").rglob("data.parquet"))]

        def store_read() -> pl.DataFrame:
            return store.load(SYMBOLS[0], "1m", READ_START, READ_END)

        def peer_read() -> pl.DataFrame:
            ranged = (pl.col("ts") >= READ_START) & (pl.col("ts") < READ_END)
            return pl.scan_parquet(peer_files).filter(ranged).sort("ts").collect()

        read_rows = store_read().height
        assert store_read().equals(peer_read()), "the store and the peer disagree"
        reads = interleaved_medians(
            {"store.load": store_read, "polars scan_parquet + filter": peer_read},
            READ_RUNS,
            warm_up=True,
        )
        store.close()

    store_write_s = writes["store.write"]
    print(f"write {rows:,} rows, median of {WRITE_RUNS} (validation + upsert + fsync included):")
    for name, seconds in writes.items():
        ratio = (
            f"   store/peer speed {seconds / store_write_s:.2f}x" if name != "store.write" else ""
        )
        print(f"  {name:34} {rows / seconds / 1e6:5.2f} M rows/s  ({seconds:.2f} s){ratio}")
    met = rows / store_write_s >= WRITE_TARGET_ROWS_PER_S
    print(f"  target >= {WRITE_TARGET_ROWS_PER_S / 1e6:.0f} M rows/s: {'met' if met else 'MISSED'}")

    store_read_s = reads["store.load"]
    print(f"read {read_rows:,} rows (Jan-Jun 2023 of one symbol), warm, median of {READ_RUNS}:")
    for name, seconds in reads.items():
        ratio = f"   store/peer time {store_read_s / seconds:.2f}x" if name != "store.load" else ""
        print(f"  {name:34} {seconds * 1000:6.1f} ms{ratio}")
    met = store_read_s * 1000 <= READ_TARGET_MS
    print(f"  target <= {READ_TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
