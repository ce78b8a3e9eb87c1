"""Read a vendor's CSV or Parquet candle file into a candle frame, saying what was assumed.

Column names are matched case-insensitively, ignoring spaces and punctuation, through the
aliases in `COLUMN_ALIASES` (Date/Datetime/Timestamp/Time/ts, O/H/L/C, Vol/Volume/Shares Traded,
OI/Open Interest). A separate date and time column are combined. Timestamps may be text (ISO
8601 with or without an offset, or day-first Indian formats such as 02-01-2025 09:15), epoch
seconds/milliseconds/microseconds/nanoseconds, or native datetimes; naive ones are read in the
given timezone (IST by default) and every such assumption is returned in `ImportResult.notes`.

The frame is not validated here: the store validates it on write (`validate_candles`), so the
rules live in one place. Row numbers in errors count data rows from 0 (CSV line = row + 2).

Errors stay short whatever the file holds: values and column lists are shown clipped
(`clip`), and a CSV that does not parse because of a stray double quote is named by its line
instead of by polars' message, which quotes the whole rest of the file.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import polars as pl

from tradeloop.domain.market.candles import CANDLE_COLUMNS, INTERVALS, PRICE_COLUMNS
from tradeloop.domain.market.refusals import clip, clip_list
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.storage._files import did_you_mean
from tradeloop.storage._timestamps import parse_timestamps

COLUMN_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "ts": ("ts", "timestamp", "datetime", "date_time", "time_stamp", "open_time"),
    "date": ("date", "trade_date", "day"),
    "time": ("time",),
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price"),
    "volume": ("volume", "vol", "v", "shares_traded", "qty", "quantity"),
    "oi": ("oi", "open_interest", "openinterest"),
    "symbol": ("symbol", "ticker", "instrument"),
    "interval": ("interval", "timeframe"),
}
CSV_SUFFIXES: Final = (".csv", ".txt", ".csv.gz")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
NULL_MARKERS: Final = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "-"]
MESSAGE_CHARS: Final = 2_000
"""The longest error message an import raises, whatever the file holds."""


@dataclass(frozen=True)
class ImportResult:
    """The candle frame read from a file (not yet validated) and what was assumed to read it."""

    frame: pl.DataFrame
    notes: tuple[str, ...]


def read_candle_file(
    path: Path, symbol: str, interval: str, timezone: str = "Asia/Kolkata"
) -> ImportResult:
    """Read `path` (CSV or Parquet) as `symbol` candles of `interval`; see the module doc."""
    try:
        return _read_candle_file(Path(path), symbol, interval, timezone)
    except DataValidationError as exc:
        message = str(exc)
        if len(message) <= MESSAGE_CHARS:
            raise
        raise DataValidationError(clip(message, MESSAGE_CHARS)) from exc


def _read_candle_file(path: Path, symbol: str, interval: str, timezone: str) -> ImportResult:
    zone = _zone(timezone)
    _check_interval(interval)
    name = symbol.strip().upper()
    raw = _read(path)
    if raw.is_empty():
        raise DataValidationError(f"{path} has no data rows: nothing to import")
    mapping, notes = _map_columns(raw, path)
    _check_identity(raw, mapping, "symbol", name, path)
    _check_identity(raw, mapping, "interval", interval, path)

    if "ts" in mapping:
        source = raw[mapping["ts"]]
    else:
        date, time = raw[mapping["date"]], raw[mapping["time"]]
        if isinstance(date.dtype, pl.Datetime):
            date = date.dt.date()
        source = date.cast(pl.String) + " " + time.cast(pl.String)
        notes.append(
            f"date and time combined from columns {mapping['date']!r}, {mapping['time']!r}"
        )
    timestamps, ts_notes = parse_timestamps(source, zone, interval == "1d", str(path))
    notes.extend(ts_notes)

    columns: dict[str, pl.Series] = {"ts": timestamps}
    for target in PRICE_COLUMNS:
        columns[target] = _numbers(raw[mapping[target]], target, path)
    if "volume" in mapping:
        columns["volume"] = _numbers(raw[mapping["volume"]], "volume", path)
    else:
        columns["volume"] = pl.Series("volume", [0] * raw.height, dtype=pl.Int64)
        notes.append("no volume column: volume set to 0, as for an index")
    if "oi" in mapping:
        columns["oi"] = _numbers(raw[mapping["oi"]], "oi", path)
    frame = pl.DataFrame(columns).with_columns(
        pl.lit(name).alias("symbol"), pl.lit(interval).alias("interval")
    )
    if "oi" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("oi"))
    return ImportResult(frame.select(CANDLE_COLUMNS), tuple(notes))


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = did_you_mean(timezone, available_timezones())
        raise DataValidationError(
            f"unknown timezone {timezone!r}: pass an IANA name such as Asia/Kolkata or UTC.{hint}"
        ) from exc


def _check_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise DataValidationError(
            f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}."
            f"{did_you_mean(interval, INTERVALS)}"
        )


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise NotFoundError(f"file {path} does not exist (or is not a file): check the path")
    name = path.name.lower()
    try:
        if name.endswith(CSV_SUFFIXES):
            return _read_csv(path)
        if name.endswith(PARQUET_SUFFIXES):
            return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataValidationError(f"cannot read {path}: {clip(str(exc), 300)}") from exc
    raise DataValidationError(
        f"{path}: unsupported file type; import a CSV ({', '.join(CSV_SUFFIXES)}) or Parquet "
        f"({', '.join(PARQUET_SUFFIXES)}) file"
    )


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, infer_schema_length=10_000, null_values=NULL_MARKERS)
    except pl.exceptions.PolarsError as exc:
        line = _unmatched_quote_line(path)
        if line is None:
            raise
        raise DataValidationError(
            f'cannot read {path}: line {line} has a double quote (") that is not closed on '
            "that line, so the lines after it read as one field. Remove the stray quote, or "
            f'quote the whole field ("..."). Line {line}: {clip(_line_text(path, line))}'
        ) from exc


def _lines(path: Path) -> Iterable[bytes]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from handle


def _unmatched_quote_line(path: Path) -> int | None:
    """The first line (from 1, the header) with an odd number of double quotes, if any.

    A candle field never spans lines, so such a line holds a quote that swallows what follows.
    """
    for number, line in enumerate(_lines(path), start=1):
        if line.count(b'"') % 2:
            return number
    return None


def _line_text(path: Path, wanted: int) -> str:
    for number, line in enumerate(_lines(path), start=1):
        if number == wanted:
            return line.decode("utf-8", errors="replace").rstrip("\r\n")
    return ""


def _normal(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def _map_columns(raw: pl.DataFrame, path: Path) -> tuple[dict[str, str], list[str]]:
    """target -> the file's column, and notes on what was ignored."""
    found: dict[str, list[str]] = {}
    ignored = []
    for column in raw.columns:
        targets = [t for t, aliases in COLUMN_ALIASES.items() if _normal(column) in aliases]
        if targets:
            found.setdefault(targets[0], []).append(column)
        else:
            ignored.append(column)
    duplicates = {target: columns for target, columns in found.items() if len(columns) > 1}
    if duplicates:
        listed = "; ".join(f"{clip_list(cols)} all mean {t}" for t, cols in duplicates.items())
        raise DataValidationError(
            f"{path}: ambiguous columns ({listed}): keep one of each or rename the others"
        )
    mapping = {target: columns[0] for target, columns in found.items()}
    notes = []
    if "ts" not in mapping and "date" in mapping and "time" not in mapping:
        mapping["ts"] = mapping.pop("date")
    elif "ts" not in mapping and "time" in mapping and "date" not in mapping:
        mapping["ts"] = mapping.pop("time")
    elif "ts" in mapping:
        for extra in ("date", "time"):
            if extra in mapping:
                notes.append(
                    f"column {mapping.pop(extra)!r} ignored: timestamps come from {mapping['ts']!r}"
                )
    has_time = "ts" in mapping or ("date" in mapping and "time" in mapping)
    missing = [t for t in PRICE_COLUMNS if t not in mapping] + ([] if has_time else ["ts"])
    if missing:
        expected = "; ".join(
            [
                f"ts: {'/'.join(COLUMN_ALIASES['ts'])}, or {'/'.join(COLUMN_ALIASES['date'])} "
                "with an optional time",
                *(
                    f"{target}: {'/'.join(COLUMN_ALIASES[target])}"
                    for target in (*PRICE_COLUMNS, "volume", "oi")
                ),
            ]
        )
        raise DataValidationError(
            f"{path}: no column for {', '.join(missing)}. Columns found: "
            f"{clip_list(raw.columns)}. Expected (any case): "
            f"{expected}. Rename the file's header to match."
        )
    described = ", ".join(f"{source}->{target}" for target, source in mapping.items())
    notes.insert(0, f"columns mapped: {described}")
    if ignored:
        notes.append(f"columns ignored: {clip_list(ignored)}")
    return mapping, notes


def _check_identity(
    raw: pl.DataFrame, mapping: dict[str, str], target: str, wanted: str, path: Path
) -> None:
    """A file's own symbol/interval column must agree with what the user asked for."""
    if target not in mapping:
        return
    values = raw[mapping[target]].cast(pl.String).str.strip_chars()
    if target == "symbol":
        values = values.str.to_uppercase()
    other = values.filter(values.is_not_null() & (values != wanted)).unique().head(3)
    if other.len():
        raise DataValidationError(
            f"{path}: column {clip(mapping[target])!r} holds {clip_list(other.to_list())}, not "
            f"{wanted}: pass --{target} to match the file, or split the file by {target}"
        )


def _numbers(values: pl.Series, target: str, path: Path) -> pl.Series:
    """Numeric columns as they are; text with thousands separators parsed; bad text named."""
    if values.dtype.is_numeric() or values.dtype == pl.Null:
        return values.alias(target)
    if values.dtype != pl.String:
        raise DataValidationError(
            f"{path}: column {values.name!r} ({target}) has type {values.dtype}; expected numbers"
        )
    parsed = values.str.replace_all(",", "").str.strip_chars().cast(pl.Float64, strict=False)
    bad = parsed.is_null() & values.is_not_null()
    if bad.any():
        frame = pl.DataFrame({"raw": values, "bad": bad}).with_row_index("row").filter("bad")
        shown = ", ".join(f"row {row} {clip(text)!r}" for row, text, _ in frame.head(5).iter_rows())
        raise DataValidationError(
            f"{path}: column {values.name!r} ({target}) has {frame.height} value(s) that are "
            f"not numbers: {shown}. Fix or remove those rows."
        )
    return parsed.alias(target)
