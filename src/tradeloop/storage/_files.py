"""Crash-safe Parquet files: temp file + fsync + rename, a writer lock, and stray-temp cleanup.

A partition is replaced by writing the new content to a temp file in the same directory,
fsyncing it, then `os.replace`-ing it over the old file (atomic on POSIX and Windows) and
fsyncing the directory. A crash at any point leaves either the old file or the new one, never
a mix. A temp file (`.<name>.<random>.tmp`) left by a crash is invisible to readers, which open
only the final names, and is removed by the next writer, which holds the store's lock so no
other writer is mid-write.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import polars as pl

from tradeloop.errors import NotFoundError

try:  # POSIX advisory locks; on Windows only writers inside one process are serialised.
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]

DATA_FILE = "data.parquet"
TEMP_SUFFIX = ".tmp"
LOCK_FILE = ".write.lock"

# Snappy: on a 2-core machine zstd(1) encodes minute candles at half snappy's speed for files
# only 25% smaller (benchmarks/bench_store.py). Row groups of 64k rows let a ranged read skip
# most of a year partition by its ts statistics.
COMPRESSION: Final = "snappy"
ROW_GROUP_SIZE = 65_536

_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Replace `path` with `frame`, all or nothing, durable once this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            frame.write_parquet(
                handle,
                compression=COMPRESSION,
                row_group_size=ROW_GROUP_SIZE,
                statistics=True,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stray_temp_files(root: Path) -> list[Path]:
    """Delete temp files a crashed writer left behind; call only while holding `writer_lock`."""
    removed = []
    for stray in root.rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stray.unlink()
            removed.append(stray)
    return removed


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time per store root, across threads and processes."""
    root.mkdir(parents=True, exist_ok=True)
    key = root.resolve()
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    with thread_lock, (root / LOCK_FILE).open("a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive_writer(root: Path) -> Iterator[None]:
    """Hold `root`'s writer lock and clear what a crashed writer left, for one write."""
    with writer_lock(root):
        remove_stray_temp_files(root)
        yield


def upsert(existing: pl.DataFrame | None, new: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int]:
    """`existing` with the rows of `new` added, replacing those with the same `key`, sorted by
    `key`; and how many were replaced."""
    if existing is None:
        return new, 0
    stale = existing[key].is_in(new[key].implode())
    return pl.concat([existing.filter(~stale), new]).sort(key), int(stale.sum())


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' Did you mean X?' for the closest choice (case-insensitively), or ''."""
    options = sorted(choices)
    by_upper = {option.upper(): option for option in options}
    close = difflib.get_close_matches(name.strip().upper(), list(by_upper), n=1)
    return f" Did you mean {by_upper[close[0]]}?" if close else ""


def not_found(problem: str, name: str, known: Iterable[str], remedy: str) -> NotFoundError:
    """A NotFoundError listing what is stored, with a "did you mean" when one is close."""
    stored = sorted(known)
    listed = ", ".join(stored) if stored else "nothing yet"
    return NotFoundError(f"{problem} (stored: {listed}).{did_you_mean(name, stored)} {remedy}")
